/**
 * The one exporter of a run's ONNX files, used by the pipeline's export stage and by the `export`
 * command, so both write the same files and run the same checks:
 *
 *   model.teacher.fp32.onnx          the dense fine-tuned teacher (what the user started from)
 *   model.fp32.onnx                  the sparse fp32 student (transfer stage), dense float storage
 *   model.int8.onnx                  the QAT student: QDQ int8, compact weight storage
 *   model.int8-alt-embeddings.onnx   the same with the other embedding-table choice (int8 <-> fp32)
 *
 * Checks, on the batches given (the test split in the pipeline, a seeded probe batch in the CLI):
 * ONNX Runtime (node) loads each file and its logits are compared with the tfjs forward the file
 * was made from (quantized forward for int8); the int8 files also run in onnxruntime-web (wasm)
 * and must predict what onnxruntime-node predicts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import type { ClsBatch } from '../data/types.js';
import { disposeModel, modelFromSnapshot, type ForwardOptions } from '../model/bert.js';
import { EMBEDDING_TABLES } from '../model/weights.js';
import type { ModelSnapshot } from '../model/snapshot.js';
import { createSession, exportOnnx, runLogits, type TensorStorage } from '../onnx/index.js';
import { createWebSession } from '../onnx/web-runtime.js';
import { quantizedForward } from '../quant/linear.js';
import { embeddingSpecOf, weightParams } from '../quant/quantize.js';
import type { ModelQuantization } from '../quant/types.js';
import { classificationObjective } from '../train/tasks.js';
import { ONNX_FILES, type OnnxFormat } from '../run/layout.js';
import { writeFileAtomic } from '../util/fs.js';
import { lcg } from '../util/rng.js';
import { argmaxRows } from '../util/stats.js';

export interface ModelSources {
  /** The dense fine-tuned teacher. */
  teacher?: ModelSnapshot;
  /** The sparse fp32 student. */
  student?: ModelSnapshot;
  /** The quantized student and its parameters. */
  qat?: { snapshot: ModelSnapshot; quantization: ModelQuantization };
}

export interface FileCheck {
  examples: number;
  /** ONNX Runtime (node) logits and argmax predictions, row-major. */
  logits: Float32Array;
  predictions: Int32Array;
  /** Rows the tfjs forward (and onnxruntime-web) ran on and were compared with ONNX Runtime on. */
  verifiedRows: number;
  ortTfjsAgreement: number;
  ortTfjsMaxLogitDiff: number;
  /** int8 files: onnxruntime-web (wasm) against onnxruntime-node. */
  web?: { agreement: number; maxLogitDiff: number };
}

export interface WrittenModelFile {
  kind: OnnxFormat;
  path: string;
  bytes: number;
  tensors: TensorStorage[];
  /** Whether the int8 file's embedding tables are int8. */
  int8Embeddings?: boolean;
  check?: FileCheck;
}

export interface WriteModelFilesOptions {
  outDir: string;
  sources: ModelSources;
  /** consumer metadata for a model config (labels, tokenizer, ...). */
  metadata: (snapshot: ModelSnapshot) => Record<string, string>;
  /** Rows to run every file on in ONNX Runtime (its predictions); no checks when absent. */
  checkBatches?: () => Iterable<ClsBatch>;
  /**
   * Rows on which the tfjs forward and onnxruntime-web must agree with ONNX Runtime (default: the
   * checkBatches): a sample keeps the single-threaded tfjs and wasm passes short on big test splits.
   */
  verifyBatches?: () => Iterable<ClsBatch>;
  log?: (msg: string) => void;
}

/** The same quantization with the embedding tables switched between float32 and quantized (per row, with the embedding spec). */
export function otherEmbeddingChoice(snapshot: ModelSnapshot, q: ModelQuantization): ModelQuantization {
  if (Object.keys(q.embeddings).length) return { ...q, embeddings: {} };
  const embeddings: ModelQuantization['embeddings'] = {};
  for (const name of EMBEDDING_TABLES) {
    const w = snapshot.weights.get(name)!;
    embeddings[name] = weightParams(w.data, [...w.shape], embeddingSpecOf(q), 0);
  }
  return { ...q, embeddings };
}

const agreement = (a: Int32Array, b: Int32Array) => (a.length ? a.reduce((s, v, i) => s + (v === b[i] ? 1 : 0), 0) / a.length : NaN);
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

async function checkFile(
  bytes: Uint8Array,
  path: string,
  snapshot: ModelSnapshot,
  forward: Partial<ForwardOptions>,
  batches: Iterable<ClsBatch>,
  verifyBatches: Iterable<ClsBatch> | undefined,
  web: boolean,
): Promise<FileCheck> {
  const labels = snapshot.config.numLabels;
  const model = modelFromSnapshot(snapshot);
  const session = await createSession(bytes);
  const webSession = web ? await createWebSession(bytes, path) : null;
  const ort: Float32Array[] = [];
  const ortVerified: Float32Array[] = [];
  const tfjs: Float32Array[] = [];
  const webLogits: Float32Array[] = [];
  try {
    const all = [...batches];
    for (const batch of all) ort.push(await runLogits(session, batch));
    const verify = verifyBatches ? [...verifyBatches] : all;
    for (const [i, batch] of verify.entries()) {
      ortVerified.push(verifyBatches ? await runLogits(session, batch) : ort[i]);
      tfjs.push(tf.tidy(() => classificationObjective.logits(model, batch, { ...forward, training: false }).logits.dataSync() as Float32Array));
      if (webSession) webLogits.push(await webSession.run(batch));
    }
  } finally {
    await session.release();
    await webSession?.release();
    disposeModel(model);
  }
  const cat = (parts: Float32Array[]) => {
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    parts.reduce((off, p) => (out.set(p, off), off + p.length), 0);
    return out;
  };
  const logits = cat(ort);
  const verified = cat(ortVerified);
  const verifiedPredictions = argmaxRows(verified, labels);
  const tfjsLogits = cat(tfjs);
  const check: FileCheck = {
    examples: logits.length / labels,
    logits,
    predictions: argmaxRows(logits, labels),
    verifiedRows: verifiedPredictions.length,
    ortTfjsAgreement: agreement(verifiedPredictions, argmaxRows(tfjsLogits, labels)),
    ortTfjsMaxLogitDiff: maxDiff(verified, tfjsLogits),
  };
  if (webSession) {
    const w = cat(webLogits);
    check.web = { agreement: agreement(argmaxRows(w, labels), verifiedPredictions), maxLogitDiff: maxDiff(w, verified) };
  }
  return check;
}

/** Writes every file the sources allow (atomically), then checks each; returns what was written. */
export async function writeModelFiles(o: WriteModelFilesOptions): Promise<WrittenModelFile[]> {
  const jobs: Array<{ kind: OnnxFormat; snapshot: ModelSnapshot; quantization?: ModelQuantization }> = [];
  if (o.sources.teacher) jobs.push({ kind: 'teacher', snapshot: o.sources.teacher });
  if (o.sources.student) jobs.push({ kind: 'fp32', snapshot: o.sources.student });
  if (o.sources.qat) {
    const { snapshot, quantization } = o.sources.qat;
    jobs.push({ kind: 'int8', snapshot, quantization });
    // Small BERTs are mostly embedding table: also write the file with the other embedding choice.
    jobs.push({ kind: 'int8_alt', snapshot, quantization: otherEmbeddingChoice(snapshot, quantization) });
  }
  const out: WrittenModelFile[] = [];
  for (const job of jobs) {
    if (job.snapshot.config.numLabels === 0)
      throw new Error(`${ONNX_FILES[job.kind]}: the model has no classification head; export a fine-tuned checkpoint (transfer or qat)`);
    const path = join(o.outDir, ONNX_FILES[job.kind]);
    const { bytes, tensors } = exportOnnx({
      snapshot: job.snapshot,
      format: job.quantization ? 'int8' : 'fp32',
      quantization: job.quantization,
      metadata: o.metadata(job.snapshot),
    });
    writeFileAtomic(path, bytes);
    o.log?.(`export: wrote ${path} (${bytes.length} bytes)`);
    const file: WrittenModelFile = { kind: job.kind, path, bytes: bytes.length, tensors };
    if (job.quantization) file.int8Embeddings = Object.keys(job.quantization.embeddings).length > 0;
    if (o.checkBatches) {
      const forward = job.quantization ? quantizedForward(job.quantization) : {};
      file.check = await checkFile(bytes, path, job.snapshot, forward, o.checkBatches(), o.verifyBatches?.(), !!job.quantization);
      const c = file.check;
      o.log?.(
        `export: ${ONNX_FILES[job.kind]} in ONNX Runtime: ${(100 * c.ortTfjsAgreement).toFixed(2)}% same predictions as tfjs on ${c.verifiedRows} rows (max logit diff ${c.ortTfjsMaxLogitDiff.toExponential(2)})` +
          (c.web ? `; onnxruntime-web ${(100 * c.web.agreement).toFixed(2)}% same as onnxruntime-node` : ''),
      );
    }
    out.push(file);
  }
  return out;
}

/** A seeded batch of random token ids for checking a file without task data (the CLI's export). */
export function probeBatch(snapshot: ModelSnapshot, rows = 16, seq = 16, seed = 1): ClsBatch {
  const cfg = snapshot.config;
  const len = Math.min(seq, cfg.maxPositions);
  const next = lcg(seed);
  const n = rows * len;
  const b: ClsBatch = {
    batchSize: rows,
    seqLen: len,
    inputIds: new Int32Array(n),
    tokenTypeIds: new Int32Array(n),
    attentionMask: new Float32Array(n),
    labels: new Int32Array(rows),
  };
  for (let r = 0; r < rows; r++) {
    const real = 2 + (next() % (len - 1));
    for (let t = 0; t < len; t++) {
      b.inputIds[r * len + t] = next() % cfg.vocabSize;
      b.attentionMask[r * len + t] = t < real ? 1 : 0;
      b.tokenTypeIds[r * len + t] = t >= real / 2 && t < real && cfg.typeVocabSize > 1 ? 1 : 0;
    }
  }
  return b;
}
