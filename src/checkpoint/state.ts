/**
 * What a checkpoint's JSON state holds, by who wrote it: the stage contract. Each stage that saves
 * a model declares its state here (STAGE_STATES), `prune-once import` declares ImportState, and a
 * reader parses the state with the schema of what it reads (`loadCheckpoint(path, schema)`, ./format.ts), so a
 * malformed or outdated checkpoint is refused at load, naming the file, the field and the fix,
 * instead of failing later or, worse, being read as "nothing pruned".
 *
 * The schemas only describe what today's writers write; names here are persisted in users' files,
 * so renaming one means reading the old name too.
 */
import { z } from 'zod';

const names = z.array(z.string());

/** The tokenizer a task stage trained with (WordPieceTokenizer.describe()): its settings, not its vocabulary. */
export const TokenizerDescription = z.object({ kind: z.literal('wordpiece'), lowercase: z.boolean(), vocabSize: z.number().int(), vocabSource: z.string() });
export type TokenizerDescription = z.infer<typeof TokenizerDescription>;

/** The tokenizer `prune-once import` stores (the vocabulary itself), so `export --format safetensors` can write it back. */
export const StoredTokenizer = z.object({ vocab: names, lowercase: z.boolean(), source: z.string().default('checkpoint') });
export type StoredTokenizer = z.infer<typeof StoredTokenizer>;

const QuantizerSpecJson = z.object({
  bits: z.union([z.literal(4), z.literal(5), z.literal(6), z.literal(7), z.literal(8)]),
  symmetric: z.boolean(),
  perChannel: z.boolean(),
  narrowRange: z.boolean(),
});
/** One tensor's quantization parameters as JSON (quant/serialize.ts converts to and from typed arrays). */
export const QuantParamsJson = z.object({
  scale: z.array(z.number()),
  zeroPoint: z.array(z.number().int()),
  axis: z.number().int(),
  dtype: z.enum(['int8', 'uint8']),
});
export type QuantParamsJson = z.infer<typeof QuantParamsJson>;
/** ModelQuantization (quant/types.ts) as JSON: what the qat stage stores and the exporter reads. */
export const QuantizationJson = z.object({
  weightSpec: QuantizerSpecJson,
  activationSpec: QuantizerSpecJson,
  /** Absent before 4-bit tables existed: the weight spec. */
  embeddingSpec: QuantizerSpecJson.optional(),
  weights: z.record(z.string(), QuantParamsJson),
  inputs: z.record(z.string(), QuantParamsJson),
  /** Absent before embedding tables could be quantized. */
  embeddings: z.record(z.string(), QuantParamsJson).default({}),
  bias: z.enum(['float32', 'int32']),
});
export type QuantizationJson = z.infer<typeof QuantizationJson>;

/** Who wrote a stage checkpoint: the stage and its fingerprint (the settings and inputs it was made with). */
const writtenBy = <const S extends string>(stage: S) => ({ stage: z.literal(stage), fingerprint: z.string() });

/** What using a task model outside its run needs (`prune-once export` writes it into the ONNX metadata). */
const taskInfo = {
  /** Class names, by output index. */
  labels: names,
  tokenizer: TokenizerDescription,
  maxSequenceLength: z.number().int().positive(),
};
export type TaskInfo = z.infer<z.ZodObject<typeof taskInfo>>;

/** The weights whose zeros the pattern lock keeps (transfer and qat lock exactly these). */
const prunedWeights = names;

export const TeacherState = z.object({ ...writtenBy('teacher'), /** A Hugging Face classifier's class names. */ labels: names.optional() });
export const PruneDistillState = z.object({
  ...writtenBy('prune-distill'),
  prunedWeights,
  /** `prune-distill.from`: the earlier run's checkpoint the student was taken from. */
  takenFrom: z.object({ file: z.string(), fingerprint: z.string() }).optional(),
});
export const FinetuneTeacherState = z.object({
  ...writtenBy('finetune-teacher'),
  ...taskInfo,
  /** A fine-tuned classifier taken as is (finetune-teacher without train): evaluated, not trained. */
  takenAsIs: z.boolean().optional(),
});
export const TransferState = z.object({ ...writtenBy('transfer'), ...taskInfo, prunedWeights });
export const QatState = z.object({ ...writtenBy('qat'), ...taskInfo, prunedWeights, quantization: QuantizationJson });

const states = {
  teacher: TeacherState,
  'prune-distill': PruneDistillState,
  'finetune-teacher': FinetuneTeacherState,
  transfer: TransferState,
  qat: QatState,
};
export type ModelStage = keyof typeof states;
export type StageState<S extends ModelStage = ModelStage> = z.infer<(typeof states)[S]>;
/** The state of each stage's model.ckpt (typed per stage, so that `STAGE_STATES[stage]` parses to that stage's state). */
export const STAGE_STATES: { readonly [S in ModelStage]: z.ZodType<StageState<S>> } = states;

/** A checkpoint of `prune-once import` (a Hugging Face BERT converted once). */
export const ImportState = z.object({
  stage: z.literal('import'),
  source: z.object({ kind: z.literal('huggingface'), dir: z.string(), architectures: names }),
  labels: names,
  tokenizer: StoredTokenizer,
  importWarnings: names,
});
export type ImportState = z.infer<typeof ImportState>;

/** Any model checkpoint prune-once writes (a stage's or an import), told apart by `stage`. */
export const ModelState = z.discriminatedUnion('stage', [TeacherState, PruneDistillState, FinetuneTeacherState, TransferState, QatState, ImportState]);
export type ModelState = z.infer<typeof ModelState>;

/** The class names a model checkpoint records, if any. */
export const labelsOf = (state: ModelState): string[] | undefined => ('labels' in state ? state.labels : undefined);
