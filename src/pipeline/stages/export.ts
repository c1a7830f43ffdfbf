/**
 * Stage `export`: the run's ONNX files through the one exporter (src/export/model-files.ts):
 * `model.teacher.fp32.onnx` (the dense fine-tuned teacher, the baseline of the size ratios),
 * `model.fp32.onnx` (the sparse student before QAT), `model.int8.onnx` (the QAT student, compact
 * int8 storage) and `model.int8-alt-embeddings.onnx` (the other embedding-table choice). With
 * `verify`, each file runs in ONNX Runtime on the test split against the tfjs model it came from,
 * and the int8 files in onnxruntime-web too.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { clsEvalBatches } from '../../data/index.js';
import { EMBEDDING_TABLES, MODEL_FILES, otherEmbeddingChoice, writeModelFiles, type ModelSources } from '../../export/model-files.js';
import { snapshotModel, disposeModel } from '../../model/bert.js';
import type { ModelSnapshot } from '../../model/snapshot.js';
import type { EncodedExamples } from '../../data/types.js';
import { consumerMetadata, createSession, encoderSparsity, runLogits } from '../../onnx/index.js';
import { quantizationFromJson } from '../../quant/serialize.js';
import { TOOL_VERSION } from '../../version.js';
import { loadModel, modelPath } from '../stage-io.js';
import type { StageOutput, StageRun } from './types.js';

export { MODEL_FILES, otherEmbeddingChoice, EMBEDDING_TABLES };
export const TEACHER_FILE = MODEL_FILES.teacher;
export const FP32_FILE = MODEL_FILES.fp32;
export const INT8_FILE = MODEL_FILES.int8;
export const INT8_ALT_FILE = MODEL_FILES.int8_alt;

/** Metric prefix of each file (the teacher's is new; the others keep the names reports already read). */
const PREFIX = { teacher: 'teacher_fp32', fp32: 'fp32', int8: 'int8', int8_alt: 'int8_alt' } as const;

function snapshotOf(dir: string, why: string): { snapshot: ModelSnapshot; state: Record<string, unknown> } {
  const { model, checkpoint } = loadModel(dir, why);
  const snapshot = snapshotModel(model);
  disposeModel(model);
  return { snapshot, state: checkpoint.state };
}

export async function runExport(run: StageRun<'export'>): Promise<StageOutput> {
  const { ctx, settings: s } = run;
  const task = ctx.task();
  const labels = task.data.labels;
  const metrics: Record<string, number> = {};
  const details: Record<string, unknown> = {};

  const sources: ModelSources = {};
  const teacherDir = run.dirOf('finetune-teacher');
  if (existsSync(modelPath(teacherDir))) sources.teacher = snapshotOf(teacherDir, 'export of the dense teacher').snapshot;
  else ctx.log(`export: ${modelPath(teacherDir)} not found; no ${TEACHER_FILE} (the size ratios need the finetune-teacher stage)`);
  if (s.formats.includes('fp32')) sources.student = snapshotOf(run.dirOf('transfer'), 'export fp32 needs the transfer stage').snapshot;
  if (s.formats.includes('int8')) {
    const qat = snapshotOf(run.dirOf('qat'), 'export int8 needs the qat stage (it holds the quantization parameters)');
    if (!qat.state.quantization) throw new Error(`${join(run.dirOf('qat'), 'model.ckpt')}: checkpoint has no quantization parameters; rerun the qat stage`);
    sources.qat = { snapshot: qat.snapshot, quantization: quantizationFromJson(qat.state.quantization) };
  }

  const bs = ctx.pipeline.task.evalBatchSize;
  const files = await writeModelFiles({
    outDir: ctx.runDir,
    sources,
    metadata: (snap) => consumerMetadata({ toolVersion: TOOL_VERSION, config: snap.config, labels, tokenizer: ctx.tokenizer().describe(), maxSequenceLength: ctx.pipeline.task.seqLen }),
    checkBatches: s.verify ? () => clsEvalBatches(task.test, { batchSize: bs, padding: 'longest' }) : undefined,
    log: (m) => ctx.log(m),
  });

  const accuracyOf = (pred: Int32Array) => (pred.length ? pred.reduce((a, p, i) => a + (p === task.test.examples[i].label ? 1 : 0), 0) / pred.length : NaN);
  for (const f of files) {
    const p = PREFIX[f.kind];
    metrics[`${p}_bytes`] = f.bytes;
    metrics[`${p}_encoder_sparsity`] = encoderSparsity(f.tensors);
    if (f.int8Embeddings !== undefined) metrics[`${p}_int8_embeddings`] = f.int8Embeddings ? 1 : 0;
    details[`${p}_tensors`] = f.tensors;
    const c = f.check;
    if (c) {
      metrics[`${p}_ort_test_accuracy`] = accuracyOf(c.predictions);
      metrics[`${p}_tfjs_test_accuracy`] = accuracyOf(c.tfjsPredictions);
      metrics[`${p}_ort_tfjs_agreement`] = c.ortTfjsAgreement;
      metrics[`${p}_ort_tfjs_max_logit_diff`] = c.ortTfjsMaxLogitDiff;
      if (c.web) {
        metrics[`${p}_web_node_agreement`] = c.web.agreement;
        metrics[`${p}_web_node_max_logit_diff`] = c.web.maxLogitDiff;
      }
      metrics.test_examples = c.examples;
    }
  }
  return { metrics, details };
}

/** ONNX Runtime predictions and logits over a split (an independent recomputation for tests and tools). */
export async function ortPredict(path: string, split: EncodedExamples, batchSize: number, numLabels: number): Promise<{ predictions: Int32Array; logits: Float32Array }> {
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
