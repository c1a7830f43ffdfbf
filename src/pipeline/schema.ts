/**
 * The building blocks of the pipeline file schema: training, model, distillation, pruning and
 * quantization settings that stages use, and the shared tokenizer, corpus and task. Each stage's
 * own settings schema is in its module (src/pipeline/stages/); the stage table assembles them
 * (src/pipeline/pipeline-schema.ts). Every field has a default that works, said once: where the code
 * that uses a setting has a default (AdamW, distillation, QAT), the schema takes it from there;
 * nested defaults use `prefault`, which parses the default through the schema. Every object is
 * strict, so a typo is an error.
 */
import { z } from 'zod';
import { TASK_KINDS } from '../data/tasks.js';
import { DISTILL_DEFAULTS } from '../distill/hook.js';
import { presetNames } from '../model/config.js';
import { QAT_DEFAULTS } from '../quant/qat.js';
import { ADAMW_DEFAULTS } from '../train/optimizer.js';

export const positiveInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const fraction = z.number().min(0).max(1);

export const TrainSchema = z.strictObject({
  steps: positiveInt,
  batchSize: positiveInt.default(32),
  learningRate: z.number().positive(),
  warmupSteps: nonNegInt.default(0),
  weightDecay: z.number().nonnegative().default(ADAMW_DEFAULTS.weightDecay),
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
  temperature: z.number().positive().default(DISTILL_DEFAULTS.temperature),
  alphaTask: z.number().nonnegative().default(DISTILL_DEFAULTS.alphaTask),
  alphaKd: z.number().nonnegative().default(DISTILL_DEFAULTS.alphaKd),
  hiddenWeight: z.number().nonnegative().default(DISTILL_DEFAULTS.hiddenWeight),
});

export const QuantizationSchema = z
  .strictObject({
    perChannel: z.boolean().default(QAT_DEFAULTS.weightSpec.perChannel),
    narrowRange: z.boolean().default(QAT_DEFAULTS.weightSpec.narrowRange),
    /**
     * int8 word / position / token-type tables (per-row scales), as Q8BERT; false keeps them float32
     * as Prune OFA's reference code. The pipeline defaults to int8 tables (issue 14: they are most of
     * a small BERT's file) while a bare QatHook keeps QAT_DEFAULTS' float tables.
     */
    embeddings: z.boolean().default(true),
    /**
     * Bits of the quantized tables: 8 (int8, what `embeddings: true` meant before) or 4 (integers in
     * [-7, 7] per row, stored two a byte in the ONNX file). Absent = 8; no default here, so the
     * stage fingerprints of existing runs do not change.
     */
    embeddingBits: z.literal([8, 4], { error: 'must be 8 or 4 (bits of the quantized embedding tables)' }).optional(),
    observerMomentum: fraction.default(QAT_DEFAULTS.observerMomentum),
    calibrationBatches: positiveInt.default(8),
  })
  .superRefine((q, ctx) => {
    if (q.embeddingBits === 4 && !q.embeddings) {
      ctx.addIssue({
        code: 'custom',
        path: ['embeddingBits'],
        message: '4-bit tables need quantized tables, but embeddings is false (float32 tables); set embeddings: true or remove embeddingBits',
      });
    }
  });

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

/**
 * The settings every stage shares (name, seed, data, tokenizer). The whole pipeline schema adds
 * `stages`, built from the stage table: src/pipeline/pipeline-schema.ts.
 */
export const SharedShape = {
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only (it names the run directory)'),
  description: z.string().optional(),
  seed: z.number().int().nonnegative().default(42),
  backend: z.string().default('auto'),
  tokenizer: TokenizerSchema.prefault({}),
  corpus: CorpusSchema.prefault({}),
  task: TaskSchema.prefault({}),
  /**
   * Several tasks from one sparse pre-trained model (Prune Once for All's "for all"): each entry's
   * task stages (finetune-teacher, transfer, qat, export, report) run in <run>/tasks/<name>/, after
   * the shared teacher and prune-distill. When given, `task` is not used.
   */
  tasks: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only (it names the task directory)'), TaskSchema).optional(),
};

export type SharedSettings = z.infer<z.ZodObject<typeof SharedShape>>;
export type TrainSettings = z.infer<typeof TrainSchema>;
export type DistillConfig = z.infer<typeof DistillSchema>;
export type { PruningConfig } from '../prune/config.js';
export type QuantizationConfig = z.infer<typeof QuantizationSchema>;
export type ModelSpec = z.infer<typeof ModelSchema>;
