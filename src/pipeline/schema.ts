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
import { MODEL_LIMITS, presetNames } from '../model/config.js';
import { QAT_DEFAULTS } from '../quant/qat.js';
import { ADAMW_DEFAULTS } from '../train/optimizer.js';
import { intIn, numIn } from '../util/ranges.js';

/** Steps and step counts: up to ten million (a week of CPU steps is far less). */
const MAX_STEPS = 10_000_000;
/** Rows of a batch: more do not fit any backend's memory for a BERT (see preflight.ts for the real check). */
export const MAX_BATCH = 65536;
/** Tokens of a sequence: the longest position table a model may have. */
const MAX_SEQ = MODEL_LIMITS.maxPositions;
const dropout = numIn('[0, 1)', 'the fraction of activations dropped');

export const TrainSchema = z.strictObject({
  steps: intIn(1, MAX_STEPS),
  batchSize: intIn(1, MAX_BATCH, 'rows per optimizer step; for a larger batch than memory holds, set microBatch').default(32),
  learningRate: numIn('(0, 1]'),
  warmupSteps: intIn(0, MAX_STEPS).default(0),
  weightDecay: numIn('[0, 1]').default(ADAMW_DEFAULTS.weightDecay),
  clipNorm: numIn('[0, 1000]', '0: no clipping').default(1),
  /** Evaluate every N steps (0: only at the end). */
  evalEvery: intIn(0, MAX_STEPS, '0: only at the end').default(0),
  /** Write a resume checkpoint every N steps (0: never). */
  checkpointEvery: intIn(0, MAX_STEPS, '0: never').default(50),
  /**
   * Threads that share each batch (data parallelism over worker threads, for the single-threaded
   * wasm and cpu backends): 'auto' = one per core, at most 4; 1 = no workers.
   */
  threads: z.union([z.literal('auto'), intIn(1, 64)], { error: "must be 'auto' or an integer from 1 to 64" }).default('auto'),
  /**
   * Gradient accumulation: rows per forward/backward within each thread's share (0: all at once).
   * Lower it when a step fails for memory; the optimizer still takes one step per batch.
   */
  microBatch: intIn(0, MAX_BATCH, '0: the whole batch at once').default(0),
  /**
   * 'layers': keep only each encoder layer's input, recompute the layer in the backward (less
   * memory, one more encoder forward). Absent = 'none'; no default here, so the stage fingerprints
   * of existing runs do not change.
   */
  recompute: z.enum(['none', 'layers']).optional(),
  /**
   * Stop once the dev `metric` has not improved for `patience` evaluations in a row (one every
   * evalEvery steps, which must then be > 0) and keep the weights of its best evaluation; `steps`
   * is then the most the stage trains. Dev only: the test split never decides. For finetune-teacher
   * and the pattern-locked transfer (a schedule that prunes or quantizes has no best step to go back to).
   */
  earlyStopping: z
    .strictObject({
      patience: intIn(1, 1_000_000, 'evaluations without improvement before stopping'),
      metric: z.enum(['dev_accuracy', 'dev_loss']).default('dev_accuracy'),
    })
    .optional(),
});

/** `train.earlyStopping` is refused where a schedule changes the weights (pruning, QAT) or there is no dev split. */
export const noEarlyStopping =
  (why: string) =>
  (s: { train?: { earlyStopping?: unknown } }, ctx: z.RefinementCtx): void => {
    if (s.train?.earlyStopping) ctx.addIssue({ code: 'custom', path: ['train', 'earlyStopping'], message: `not available here: ${why}; remove it` });
  };

/** Early stopping judges evaluations, so it needs some during training. */
export function checkEarlyStopping(s: { train?: { earlyStopping?: unknown; evalEvery: number } }, ctx: z.RefinementCtx): void {
  if (s.train?.earlyStopping && s.train.evalEvery === 0)
    ctx.addIssue({
      code: 'custom',
      path: ['train', 'evalEvery'],
      message: 'is 0, but train.earlyStopping needs evaluations during training: set evalEvery (e.g. 25)',
    });
}

export const ModelSchema = z.strictObject({
  /** A preset: bert-tiny, bert-mini, bert-small, bert-medium, bert-base or L{2..12}-H{128..768}. */
  preset: z.string().refine((p) => presetNames().includes(p), { message: `unknown preset; allowed: ${presetNames().join(', ')}` }),
  maxPositions: intIn(1, MODEL_LIMITS.maxPositions, 'the longest sequence the model takes').default(512),
  hiddenDropout: dropout.default(0.1),
  attentionDropout: dropout.default(0.1),
});

export const DistillSchema = z.strictObject({
  enabled: z.boolean().default(true),
  temperature: numIn('(0, 100]').default(DISTILL_DEFAULTS.temperature),
  alphaTask: numIn('[0, 100]', 'weight of the task loss').default(DISTILL_DEFAULTS.alphaTask),
  alphaKd: numIn('[0, 100]', 'weight of the distillation loss').default(DISTILL_DEFAULTS.alphaKd),
  hiddenWeight: numIn('[0, 1000]', 'weight of the hidden-state loss').default(DISTILL_DEFAULTS.hiddenWeight),
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
    observerMomentum: numIn('[0, 1]').default(QAT_DEFAULTS.observerMomentum),
    calibrationBatches: intIn(1, 10_000).default(8),
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
  size: intIn(16, MODEL_LIMITS.vocabSize, 'entries of the vocabulary').default(8192),
});

export const CorpusSchema = z.strictObject({
  /** sotu (State of the Union addresses) or a path to a .txt / .jsonl file. */
  source: z.string().default('sotu'),
  seqLen: intIn(3, MAX_SEQ, 'tokens per packed sequence, [CLS] and [SEP] included').default(128),
  heldOutFraction: numIn('(0, 1)', 'share of the corpus held out for the MLM evaluation').default(0.05),
  /** Evaluate MLM on at most this many held-out sequences. */
  evalSequences: intIn(1, 1_000_000).default(256),
  /** Use only the first N documents of the corpus (addresses, for sotu): for quick trials. */
  maxDocuments: intIn(1, 100_000_000).optional(),
});

export const TaskSchema = z
  .strictObject({
    kind: z.enum(TASK_KINDS).default('spam-assassin'),
    train: z.string().optional(),
    dev: z.string().optional(),
    test: z.string().optional(),
    seqLen: intIn(4, MAX_SEQ, 'tokens per example, [CLS] and [SEP] included').default(128),
    maxPerSplit: intIn(1, 100_000_000).optional(),
    /** Batch size for evaluation passes. */
    evalBatchSize: intIn(1, 4096).default(64),
    /**
     * This task's training steps where it needs another budget than the stages' `train.steps`
     * (e.g. a harder task that is still improving on dev): replaces `stages.<stage>.train.steps`
     * for this task only. Choose it on dev, never on test.
     */
    steps: z
      .strictObject({
        'finetune-teacher': intIn(1, 100_000_000).optional(),
        transfer: intIn(1, 100_000_000).optional(),
        qat: intIn(1, 100_000_000).optional(),
      })
      .optional(),
  })
  // Checked here, not when the data loads, so the message has the task's path (`tasks.x.train`).
  .superRefine((t, ctx) => {
    if (t.kind !== 'tsv' && t.kind !== 'jsonl') return;
    const need = [
      ['train', 'the training file'],
      ['dev', 'the dev file'],
    ] as const;
    for (const [field, what] of need) {
      if (!t[field])
        ctx.addIssue({ code: 'custom', path: [field], message: `kind ${t.kind} needs ${what}: give a path to a .${t.kind} file (test is optional)` });
    }
  });

/**
 * The settings every stage shares (name, seed, data, tokenizer). The whole pipeline schema adds
 * `stages`, built from the stage table: src/pipeline/pipeline-schema.ts.
 */
export const SharedShape = {
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only (it names the run directory)'),
  description: z.string().optional(),
  seed: intIn(0, 2 ** 32 - 1).default(42),
  /**
   * The seed of the task stages' training (classifier head, batch order, dropout) when it should
   * differ from `seed`: the data splits and the shared pre-trained stages keep `seed`, so a seeds
   * sweep over `taskSeed` reuses one sparse pre-trained model and compares on the same test split.
   */
  taskSeed: intIn(0, 2 ** 32 - 1).optional(),
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
