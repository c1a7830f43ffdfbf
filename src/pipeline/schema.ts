/**
 * The pipeline file schema. A pipeline is an ordered mapping of stages (teacher -> prune-distill ->
 * finetune-teacher -> transfer -> qat -> export -> report) plus the shared tokenizer, corpus and
 * task. Every field has a default that works, and every object is strict so a typo is an error.
 */
import { z } from 'zod';
import { presetNames } from '../model/config.js';
import { TASK_KINDS } from '../data/tasks.js';

const positiveInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const fraction = z.number().min(0).max(1);

export const TrainSchema = z.strictObject({
  steps: positiveInt,
  batchSize: positiveInt.default(32),
  learningRate: z.number().positive(),
  warmupSteps: nonNegInt.default(0),
  weightDecay: z.number().nonnegative().default(0.01),
  clipNorm: z.number().nonnegative().default(1),
  /** Evaluate every N steps (0: only at the end). */
  evalEvery: nonNegInt.default(0),
  /** Write a resume checkpoint every N steps (0: never). */
  checkpointEvery: nonNegInt.default(50),
  /**
   * Threads that share each batch (data parallelism over worker threads, for the single-threaded
   * wasm and cpu backends): 'auto' = one per core, at most 4; 1 = no workers.
   */
  threads: z.union([z.literal('auto'), positiveInt]).default('auto'),
  /**
   * Gradient accumulation: rows per forward/backward within each thread's share (0: all at once).
   * Lower it when a step fails for memory; the optimizer still takes one step per batch.
   */
  microBatch: nonNegInt.default(0),
  /**
   * 'layers': keep only each encoder layer's input, recompute the layer in the backward (less
   * memory, one more encoder forward). Absent = 'none'; no default here, so the stage fingerprints
   * of existing runs do not change.
   */
  recompute: z.enum(['none', 'layers']).optional(),
});

export const ModelSchema = z.strictObject({
  /** A preset: bert-tiny, bert-mini, bert-small, bert-medium, bert-base or L{2..12}-H{128..768}. */
  preset: z.string().refine((p) => presetNames().includes(p), { message: `unknown preset; allowed: ${presetNames().join(', ')}` }),
  maxPositions: positiveInt.default(512),
  hiddenDropout: fraction.default(0.1),
  attentionDropout: fraction.default(0.1),
});

export const DistillSchema = z.strictObject({
  enabled: z.boolean().default(true),
  temperature: z.number().positive().default(2),
  alphaTask: z.number().nonnegative().default(0.5),
  alphaKd: z.number().nonnegative().default(0.5),
  hiddenWeight: z.number().nonnegative().default(0),
});

export const PruningSchema = z.strictObject({
  method: z.enum(['magnitude', 'global-magnitude', 'block']).default('magnitude'),
  block: z.tuple([positiveInt, positiveInt]).optional(),
  schedule: z.enum(['cubic', 'constant', 'one-shot']).default('cubic'),
  initialSparsity: z.number().min(0).lt(1).default(0),
  finalSparsity: z.number().min(0).lt(1).default(0.9),
  /** Fractions of the stage's steps (Prune OFA: 0 -> 0.5, then hold). */
  beginFraction: fraction.default(0),
  endFraction: fraction.default(0.5),
  /** Recompute masks every N steps while ramping. */
  frequency: positiveInt.default(10),
  include: z.array(z.string()).optional(),
  exclude: z.array(z.string()).default([]),
  overrides: z.array(z.strictObject({ match: z.string(), finalSparsity: z.number().min(0).lt(1) })).default([]),
});

export const QuantizationSchema = z.strictObject({
  perChannel: z.boolean().default(true),
  narrowRange: z.boolean().default(true),
  embeddings: z.boolean().default(false),
  observerMomentum: fraction.default(0.9),
  calibrationBatches: positiveInt.default(8),
});

const TeacherStage = z.strictObject({
  model: ModelSchema.default({ preset: 'bert-tiny', maxPositions: 512, hiddenDropout: 0.1, attentionDropout: 0.1 }),
  /**
   * Start from existing weights instead of pre-training (skips training when train is absent): a
   * prune-once checkpoint file, or a Hugging Face BERT directory (config.json, model.safetensors,
   * vocab.txt), whose vocabulary and do_lower_case then replace tokenizer.vocab.
   */
  from: z.string().optional(),
  train: TrainSchema.optional(),
});

const PruneDistillStage = z.strictObject({
  /** 'teacher' (Prune OFA: a copy of the teacher) or a preset name (Well-Read Students' compact student). */
  student: z.string().default('teacher'),
  pruning: PruningSchema.default(PruningSchema.parse({})),
  distill: DistillSchema.default(DistillSchema.parse({})),
  train: TrainSchema,
});

const FinetuneTeacherStage = z.strictObject({ train: TrainSchema });

const TransferStage = z.strictObject({
  distill: DistillSchema.default(DistillSchema.parse({})),
  train: TrainSchema,
});

const QatStage = z.strictObject({
  quantization: QuantizationSchema.default(QuantizationSchema.parse({})),
  distill: DistillSchema.default(DistillSchema.parse({})),
  train: TrainSchema,
});

const ExportStage = z.strictObject({
  formats: z.array(z.enum(['fp32', 'int8'])).min(1).default(['fp32', 'int8']),
  /** Check the exported files in ONNX Runtime against tfjs on the test split. */
  verify: z.boolean().default(true),
});

const ReportStage = z.strictObject({
  /** ONNX Runtime latency: batch sizes, timed runs per batch size. */
  latencyBatches: z.array(positiveInt).default([1, 32]),
  latencyRuns: positiveInt.default(20),
});

export const StagesSchema = z
  .strictObject({
    teacher: TeacherStage.optional(),
    'prune-distill': PruneDistillStage.optional(),
    'finetune-teacher': FinetuneTeacherStage.optional(),
    transfer: TransferStage.optional(),
    qat: QatStage.optional(),
    export: ExportStage.optional(),
    report: ReportStage.optional(),
  })
  .refine((s) => Object.keys(s).length > 0, { message: 'a pipeline needs at least one stage' });

export const STAGE_ORDER = ['teacher', 'prune-distill', 'finetune-teacher', 'transfer', 'qat', 'export', 'report'] as const;
export type StageName = (typeof STAGE_ORDER)[number];

export const TokenizerSchema = z.strictObject({
  /**
   * bert-base-uncased: the 30,522-entry BERT uncased vocabulary; corpus-subset: the most frequent
   * WordPieces of the corpus and task texts (faster on CPU); or a path to a vocab.txt.
   */
  vocab: z.string().default('corpus-subset'),
  size: positiveInt.default(8192),
});

export const CorpusSchema = z.strictObject({
  /** sotu (State of the Union addresses) or a path to a .txt / .jsonl file. */
  source: z.string().default('sotu'),
  seqLen: positiveInt.default(128),
  heldOutFraction: z.number().gt(0).lt(1).default(0.05),
  /** Evaluate MLM on at most this many held-out sequences. */
  evalSequences: positiveInt.default(256),
  /** Use only the first N documents of the corpus (addresses, for sotu): for quick trials. */
  maxDocuments: positiveInt.optional(),
});

export const TaskSchema = z.strictObject({
  kind: z.enum(TASK_KINDS).default('spam-assassin'),
  train: z.string().optional(),
  dev: z.string().optional(),
  test: z.string().optional(),
  seqLen: positiveInt.default(128),
  maxPerSplit: positiveInt.optional(),
  /** Batch size for evaluation passes. */
  evalBatchSize: positiveInt.default(64),
});

export const PipelineSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only (it names the run directory)'),
  description: z.string().optional(),
  seed: z.number().int().nonnegative().default(42),
  backend: z.string().default('auto'),
  tokenizer: TokenizerSchema.default(TokenizerSchema.parse({})),
  corpus: CorpusSchema.default(CorpusSchema.parse({})),
  task: TaskSchema.default(TaskSchema.parse({})),
  stages: StagesSchema,
});

export type Pipeline = z.infer<typeof PipelineSchema>;
export type TrainSettings = z.infer<typeof TrainSchema>;
export type DistillConfig = z.infer<typeof DistillSchema>;
export type PruningConfig = z.infer<typeof PruningSchema>;
export type QuantizationConfig = z.infer<typeof QuantizationSchema>;
export type ModelSpec = z.infer<typeof ModelSchema>;
export type Stages = z.infer<typeof StagesSchema>;
