/**
 * Stage `export`: writes `model.fp32.onnx` (the sparse student before QAT, dense float storage:
 * the size of the uncompressed model) and `model.int8.onnx` (the QAT student, QDQ int8 with sparse
 * initializers where smaller) into the run directory, then checks both in ONNX Runtime against the
 * tfjs model on the test split.
 */
import { statSync } from 'node:fs';
import { z } from 'zod';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clsEvalBatches } from '../../data/index.js';
import type { EncodedExamples } from '../../data/types.js';
import { disposeModel, snapshotModel, type BertModel, type ForwardOptions } from '../../model/bert.js';
import { consumerMetadata, createSession, encoderSparsity, exportOnnx, runLogits } from '../../onnx/index.js';
import { quantizedForward } from '../../quant/linear.js';
import { quantizationFromJson } from '../../quant/serialize.js';
import type { ModelQuantization } from '../../quant/types.js';
import { weightParams } from '../../quant/quantize.js';
import { EMB } from '../../model/weights.js';
import { MODEL_SOURCE_STAGE, ONNX_FILES } from '../../run/layout.js';
import { writeFileAtomic } from '../../util/fs.js';
import { TOOL_VERSION } from '../../version.js';
import { predictTask } from '../evaluate.js';
import { loadModel } from '../stage-io.js';
import { defineStage, type StageOutput, type StageRun } from './types.js';

// The file names are the run layout's (src/run/layout.ts).
const { fp32: FP32_FILE, int8: INT8_FILE, int8_alt: INT8_ALT_FILE } = ONNX_FILES;

export const ExportSettings = z.strictObject({
  formats: z.array(z.enum(['fp32', 'int8'])).min(1).default(['fp32', 'int8']),
  /** Check the exported files in ONNX Runtime against tfjs on the test split. */
  verify: z.boolean().default(true),
});
export type ExportSettings = z.infer<typeof ExportSettings>;

const EMBEDDING_TABLES = [EMB.word, EMB.position, EMB.tokenType];

/** The same quantization with the embedding tables switched between float32 and int8 (per row). */
export function otherEmbeddingChoice(model: BertModel, q: ModelQuantization): ModelQuantization {
  if (Object.keys(q.embeddings).length) return { ...q, embeddings: {} };
  const embeddings: ModelQuantization['embeddings'] = {};
  for (const name of EMBEDDING_TABLES) {
    const v = model.params.get(name)!;
    embeddings[name] = weightParams(v.dataSync() as Float32Array, [...v.shape], q.weightSpec, 0);
  }
  return { ...q, embeddings };
}

/** ONNX Runtime predictions and logits over a split. */
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
    let best = 0;
    for (let c = 1; c < numLabels; c++) if (logits[i * numLabels + c] > logits[i * numLabels + best]) best = c;
    predictions[i] = best;
  }
  return { predictions, logits };
}

function fileFacts(path: string) {
  const bytes = readFileSync(path);
  return { bytes: statSync(path).size, gzipBytes: gzipSync(bytes, { level: 9 }).length };
}

export async function runExport(run: StageRun<ExportSettings>): Promise<StageOutput> {
  const { ctx, settings: s } = run;
  const task = ctx.task();
  const labels = task.data.labels;
  const metrics: Record<string, number> = {};
  const details: Record<string, unknown> = {};
  const bs = ctx.pipeline.task.evalBatchSize;
  const accuracyOf = (pred: Int32Array) => {
    let ok = 0;
    pred.forEach((p, i) => (ok += p === task.test.examples[i].label ? 1 : 0));
    return pred.length ? ok / pred.length : NaN;
  };

  const exportOne = async (format: 'fp32' | 'int8' | 'int8_alt', model: BertModel, quantization: ModelQuantization | undefined, forward: Partial<ForwardOptions>) => {
    const file = format === 'fp32' ? FP32_FILE : format === 'int8' ? INT8_FILE : INT8_ALT_FILE;
    const path = join(ctx.runDir, file);
    const out = exportOnnx({
      snapshot: snapshotModel(model),
      format: format === 'fp32' ? 'fp32' : 'int8',
      quantization,
      metadata: consumerMetadata({ toolVersion: TOOL_VERSION, config: model.config, labels, tokenizer: ctx.tokenizer().describe(), maxSequenceLength: ctx.pipeline.task.seqLen }),
    });
    writeFileAtomic(path, out.bytes);
    const facts = fileFacts(path);
    metrics[`${format}_bytes`] = facts.bytes;
    metrics[`${format}_gzip_bytes`] = facts.gzipBytes;
    metrics[`${format}_encoder_sparsity`] = encoderSparsity(out.tensors);
    if (quantization) metrics[`${format}_int8_embeddings`] = Object.keys(quantization.embeddings).length ? 1 : 0;
    details[`${format}_tensors`] = out.tensors;
    ctx.log(`export: wrote ${path} (${facts.bytes} bytes, gzip ${facts.gzipBytes})`);
    if (s.verify) {
      const tfjs = predictTask(model, task.test, bs, forward);
      const ort = await ortPredict(path, task.test, bs, labels.length);
      let agree = 0;
      let maxDiff = 0;
      for (let i = 0; i < ort.predictions.length; i++) agree += ort.predictions[i] === tfjs.predictions[i] ? 1 : 0;
      for (let i = 0; i < ort.logits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ort.logits[i] - tfjs.logits[i]));
      metrics[`${format}_ort_test_accuracy`] = accuracyOf(ort.predictions);
      metrics[`${format}_tfjs_test_accuracy`] = tfjs.metrics.accuracy;
      metrics[`${format}_ort_tfjs_agreement`] = ort.predictions.length ? agree / ort.predictions.length : NaN;
      metrics[`${format}_ort_tfjs_max_logit_diff`] = maxDiff;
      metrics.test_examples = ort.predictions.length;
    }
  };

  if (s.formats.includes('fp32')) {
    const { model } = loadModel(run.dirOf('transfer'), 'export fp32 needs the transfer stage');
    await exportOne('fp32', model, undefined, {});
    disposeModel(model);
  }
  if (s.formats.includes('int8')) {
    const { model, checkpoint } = loadModel(run.dirOf('qat'), 'export int8 needs the qat stage (it holds the quantization parameters)');
    if (!checkpoint.state.quantization) throw new Error(`${join(run.dirOf('qat'), 'model.ckpt')}: checkpoint has no quantization parameters; rerun the qat stage`);
    const q = quantizationFromJson(checkpoint.state.quantization);
    await exportOne('int8', model, q, quantizedForward(q));
    // Small BERTs are mostly embedding table: also show the file with the other embedding choice.
    const alt = otherEmbeddingChoice(model, q);
    await exportOne('int8_alt', model, alt, quantizedForward(alt));
    disposeModel(model);
  }
  return { metrics, details };
}

export const exportStage = defineStage({
  name: 'export',
  describe: 'model.fp32.onnx (the sparse student) and model.int8.onnx (the QAT student), checked in ONNX Runtime',
  schema: ExportSettings,
  inputs: [MODEL_SOURCE_STAGE.fp32, MODEL_SOURCE_STAGE.int8],
  // Without the int8 format the qat stage is not needed.
  optionalInputs: (s) => (s.formats.includes('int8') ? [] : [MODEL_SOURCE_STAGE.int8]),
  data: 'task',
  outputs: (s) => [...(s.formats.includes('fp32') ? [FP32_FILE] : []), ...(s.formats.includes('int8') ? [INT8_FILE, INT8_ALT_FILE] : [])],
  run: runExport,
});
