/**
 * Stage `export`: the run's ONNX files through the one exporter (src/export/model-files.ts):
 * `model.teacher.fp32.onnx` (the dense fine-tuned teacher, the baseline of the size ratios),
 * `model.fp32.onnx` (the sparse student before QAT), `model.int8.onnx` (the QAT student, compact
 * int8 storage) and `model.int8-alt-embeddings.onnx` (the other embedding-table choice). With
 * `verify`, each file runs in ONNX Runtime on the test split against the tfjs model it came from,
 * and the int8 files in onnxruntime-web too.
 */
import { z } from 'zod';
import { join } from 'node:path';
import { clsEvalBatches, lengthOrder, orderedByLength } from '../../data/index.js';
import { writeModelFiles } from '../../export/model-files.js';
import { buildModelSources, runCheckpoint } from '../../export/sources.js';
import type { EncodedExamples } from '../../data/types.js';
import { createSession, encoderSparsity, runLogits } from '../../onnx/index.js';
import { MODEL_SOURCE_STAGE, ONNX_FILES, TEST_PREDICTIONS_FILE } from '../../run/layout.js';
import { writeJsonAtomic } from '../../util/fs.js';
import { Rng } from '../../util/rng.js';
import { accuracyInterval, BOOTSTRAP_DEFAULTS, pairedDifferenceInterval } from '../../util/stats.js';
import { intIn } from '../../util/ranges.js';
import { defineStage, type StageOutput, type StageRun } from './types.js';

// The file names are the run layout's (src/run/layout.ts).
const { teacher: TEACHER_FILE, fp32: FP32_FILE, int8: INT8_FILE, int8_alt: INT8_ALT_FILE } = ONNX_FILES;

export const ExportSettings = z.strictObject({
  formats: z
    .array(z.enum(['fp32', 'int8']))
    .min(1)
    .default(['fp32', 'int8']),
  /** Check the exported files in ONNX Runtime against tfjs on the test split. */
  verify: z.boolean().default(true),
  /**
   * Rows of the test split (a seeded sample) on which tfjs and onnxruntime-web must agree with
   * ONNX Runtime; ONNX Runtime itself predicts every row (its accuracy is the report's).
   */
  verifyRows: intIn(1, 1_000_000).default(512),
});
export type ExportSettings = z.infer<typeof ExportSettings>;

/**
 * TEST_PREDICTIONS_FILE: the test split in the order it was checked (by length), each example's
 * group (an index into `groups`) and label, and each file's ONNX Runtime predicted class. The
 * report's intervals (`*_ort_test_accuracy_lo/_hi`, `int8_minus_teacher_lo/_hi`) are recomputed
 * from it with `bootstrap` (util/stats.ts).
 */
export interface TestPredictions {
  bootstrap: { resamples: number; seed: number };
  groups: string[];
  group: number[];
  label: number[];
  /** By metric prefix (teacher_fp32, fp32, int8, int8_alt). */
  predictions: Record<string, number[]>;
}

/** Metric prefix of each file (the teacher's is new; the others keep the names reports already read). */
const PREFIX = { teacher: 'teacher_fp32', fp32: 'fp32', int8: 'int8', int8_alt: 'int8_alt' } as const;

export async function runExport(run: StageRun<ExportSettings>): Promise<StageOutput> {
  const { ctx, settings: s } = run;
  const task = ctx.task();
  const metrics: Record<string, number> = {};
  const details: Record<string, unknown> = {};

  // The dense fine-tuned teacher: the baseline of the report's size ratios (dense teacher over int8).
  const dirOf = (stage: string) => run.dirOf(stage);
  const { sources, metadata } = buildModelSources({
    teacher: runCheckpoint(dirOf, 'teacher', `export of the dense teacher (${TEACHER_FILE})`),
    ...(s.formats.includes('fp32') ? { student: runCheckpoint(dirOf, 'fp32', `export of ${FP32_FILE}`) } : {}),
    ...(s.formats.includes('int8') ? { qat: runCheckpoint(dirOf, 'int8', `export of ${INT8_FILE}`) } : {}),
  });

  const bs = ctx.pipeline.task.evalBatchSize;
  // Checked in length order (less padding); predictions and labels below are in that order.
  const test = orderedByLength(task.test);
  const verifySample = orderedByLength(sampleRows(task.test, s.verifyRows, run.seed));
  const files = await writeModelFiles({
    outDir: ctx.runDir,
    sources,
    metadata,
    checkBatches: s.verify ? () => clsEvalBatches(test, { batchSize: bs, padding: 'longest' }) : undefined,
    verifyBatches: s.verify ? () => clsEvalBatches(verifySample, { batchSize: bs, padding: 'longest' }) : undefined,
    log: (m) => ctx.log(m),
  });

  // The group of each checked example: encoded examples are in the task data's order (data/encode.ts).
  const groupOf = lengthOrder(task.test).map((i) => task.data.test[i].group);
  const accuracyOf = (pred: Int32Array) => (pred.length ? pred.reduce((a, p, i) => a + (p === test.examples[i].label ? 1 : 0), 0) / pred.length : NaN);
  for (const f of files) {
    const p = PREFIX[f.kind];
    metrics[`${p}_bytes`] = f.bytes;
    metrics[`${p}_encoder_sparsity`] = encoderSparsity(f.tensors);
    if (f.int8Embeddings !== undefined) metrics[`${p}_int8_embeddings`] = f.int8Embeddings ? 1 : 0;
    details[`${p}_tensors`] = f.tensors;
    const c = f.check;
    if (c) {
      metrics[`${p}_ort_test_accuracy`] = accuracyOf(c.predictions);
      metrics[`${p}_verified_rows`] = c.verifiedRows;
      metrics[`${p}_ort_tfjs_agreement`] = c.ortTfjsAgreement;
      metrics[`${p}_ort_tfjs_max_logit_diff`] = c.ortTfjsMaxLogitDiff;
      if (c.web) {
        metrics[`${p}_web_node_agreement`] = c.web.agreement;
        metrics[`${p}_web_node_max_logit_diff`] = c.web.maxLogitDiff;
      }
      metrics.test_examples = c.examples;
    }
  }
  const checked = files.filter((f) => f.check);
  if (checked.length) {
    const predictions = Object.fromEntries(checked.map((f) => [PREFIX[f.kind], Array.from(f.check!.predictions)]));
    Object.assign(
      metrics,
      testIntervals(
        predictions,
        groupOf,
        Array.from(test.examples, (e) => e.label),
      ),
    );
    const groups = [...new Set(groupOf)];
    const index = new Map(groups.map((g, i) => [g, i]));
    const file: TestPredictions = {
      bootstrap: BOOTSTRAP_DEFAULTS,
      groups,
      group: groupOf.map((g) => index.get(g)!),
      label: test.examples.map((e) => e.label),
      predictions,
    };
    writeJsonAtomic(join(ctx.runDir, TEST_PREDICTIONS_FILE), file);
  }
  return { metrics, details };
}

/**
 * 95% group-bootstrap intervals of each file's test accuracy (`<prefix>_ort_test_accuracy_lo/_hi`)
 * and the paired interval of int8 - teacher (`int8_minus_teacher_lo/_hi`), on the same resamples.
 */
export function testIntervals(predictions: Record<string, ArrayLike<number>>, groups: readonly string[], labels: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  const correct = (p: ArrayLike<number>) => labels.map((l, i) => p[i] === l);
  for (const [prefix, pred] of Object.entries(predictions)) {
    [out[`${prefix}_ort_test_accuracy_lo`], out[`${prefix}_ort_test_accuracy_hi`]] = accuracyInterval(correct(pred), groups);
  }
  const { int8, teacher_fp32: teacher } = predictions;
  if (int8 && teacher) [out.int8_minus_teacher_lo, out.int8_minus_teacher_hi] = pairedDifferenceInterval(correct(int8), correct(teacher), groups);
  return out;
}

/** At most `n` examples of a split, a seeded sample in the split's order. */
function sampleRows(split: EncodedExamples, n: number, seed: number): EncodedExamples {
  if (split.examples.length <= n) return split;
  const keep = new Set(new Rng(seed).shuffle(split.examples.map((_, i) => i)).slice(0, n));
  return { ...split, examples: split.examples.filter((_, i) => keep.has(i)) };
}

/** ONNX Runtime predictions and logits over a split (an independent recomputation for tests and tools). */
export async function ortPredict(
  path: string,
  split: EncodedExamples,
  batchSize: number,
  numLabels: number,
): Promise<{ predictions: Int32Array; logits: Float32Array }> {
  const session = await createSession(path);
  const n = split.examples.length;
  const logits = new Float32Array(n * numLabels);
  let offset = 0;
  for (const batch of clsEvalBatches(split, { batchSize, padding: 'longest' })) {
    logits.set(await runLogits(session, batch), offset * numLabels);
    offset += batch.batchSize;
  }
  await session.release();
  const predictions = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let c = 1; c < numLabels; c++) if (logits[i * numLabels + c] > logits[i * numLabels + predictions[i]]) predictions[i] = c;
  }
  return { predictions, logits };
}
export const exportStage = defineStage({
  name: 'export',
  describe: `${TEACHER_FILE} (the dense fine-tuned teacher), ${FP32_FILE} (the sparse student) and ${INT8_FILE} + ${INT8_ALT_FILE} (the QAT student, compact int8 storage), checked in ONNX Runtime`,
  schema: ExportSettings,
  // finetune-teacher is always there when export runs (transfer and qat read it too).
  inputs: [MODEL_SOURCE_STAGE.fp32, MODEL_SOURCE_STAGE.int8, MODEL_SOURCE_STAGE.teacher],
  // Without the int8 format the qat stage is not needed.
  optionalInputs: (s) => (s.formats.includes('int8') ? [] : [MODEL_SOURCE_STAGE.int8]),
  data: 'task',
  outputs: (s) => [
    TEACHER_FILE,
    ...(s.formats.includes('fp32') ? [FP32_FILE] : []),
    ...(s.formats.includes('int8') ? [INT8_FILE, INT8_ALT_FILE] : []),
    // The per-example predictions come from the ONNX Runtime check.
    ...(s.verify ? [TEST_PREDICTIONS_FILE] : []),
  ],
  run: runExport,
});
