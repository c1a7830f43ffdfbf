/**
 * Running exported models in onnxruntime-node: session creation, a logits call that takes the
 * same plain arrays the tfjs data pipeline produces, and a latency measurement.
 */
import * as ort from 'onnxruntime-node';
import { lcg } from '../util/rng.js';
import { median, quantile } from '../util/stats.js';

export interface SessionOptions {
  /** Intra-op threads (ORT's default is one per core). */
  threads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Writes the graph after ORT's optimizations here (to see which ops it fused). */
  optimizedModelFilePath?: string;
}

export type Session = ort.InferenceSession;

export async function createSession(pathOrBytes: string | Uint8Array, opts: SessionOptions = {}): Promise<Session> {
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
    ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
    ...(opts.optimizedModelFilePath ? { optimizedModelFilePath: opts.optimizedModelFilePath } : {}),
  };
  try {
    return typeof pathOrBytes === 'string' ? await ort.InferenceSession.create(pathOrBytes, options) : await ort.InferenceSession.create(pathOrBytes, options);
  } catch (e) {
    const what = typeof pathOrBytes === 'string' ? pathOrBytes : `<${pathOrBytes.length} bytes>`;
    throw new Error(`${what}: ONNX Runtime could not load the model (${(e as Error).message})`);
  }
}

export interface Batch {
  inputIds: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  attentionMask: Float32Array;
  tokenTypeIds: Int32Array;
  batchSize: number;
  seqLen: number;
}

const int64 = (a: ArrayLike<number>, dims: number[]): ort.Tensor =>
  new ort.Tensor('int64', BigInt64Array.from(Array.from(a, (v) => BigInt(Math.round(v)))), dims);

function feeds(batch: Batch): Record<string, ort.Tensor> {
  const dims = [batch.batchSize, batch.seqLen];
  const n = batch.batchSize * batch.seqLen;
  for (const [k, a] of [
    ['inputIds', batch.inputIds],
    ['attentionMask', batch.attentionMask],
    ['tokenTypeIds', batch.tokenTypeIds],
  ] as const) {
    if (a.length !== n) throw new Error(`batch.${k} has ${a.length} values, expected batchSize * seqLen = ${n}`);
  }
  return {
    input_ids: int64(batch.inputIds, dims),
    attention_mask: int64(batch.attentionMask, dims),
    token_type_ids: int64(batch.tokenTypeIds, dims),
  };
}

/** Classification logits, [batchSize * numLabels] row-major. */
export async function runLogits(session: Session, batch: Batch): Promise<Float32Array> {
  if (!session.outputNames.includes('logits')) {
    throw new Error(`model has no 'logits' output (outputs: ${session.outputNames.join(', ')}); it was exported without a classification head`);
  }
  const out = await session.run(feeds(batch), ['logits']);
  return out.logits.data as Float32Array;
}

export interface LatencyOptions {
  batch: number;
  seq: number;
  warmup: number;
  runs: number;
  /** Token ids are drawn from [0, vocabSize); latency does not depend on their values. Default 2. */
  vocabSize?: number;
  seed?: number;
}

export interface Latency {
  medianMs: number;
  p90Ms: number;
  /** The fastest run: under load, the nearest to an idle machine. */
  minMs: number;
  /** Sequences per second at the median latency. */
  throughputPerS: number;
  runs: number;
}

/** The inputs a latency measurement runs on: [batch, seq] random token ids (seeded), no padding, segment 0. */
export function latencyFeeds(opts: Pick<LatencyOptions, 'batch' | 'seq' | 'vocabSize' | 'seed'>): Record<string, ort.Tensor> {
  const n = opts.batch * opts.seq;
  const vocab = opts.vocabSize ?? 2;
  const next = lcg(opts.seed ?? 1);
  const inputIds = Int32Array.from({ length: n }, () => next() % vocab);
  return feeds({ inputIds, attentionMask: new Float32Array(n).fill(1), tokenTypeIds: new Int32Array(n), batchSize: opts.batch, seqLen: opts.seq });
}

/** Median and 90th-percentile latency of one forward on random full-length inputs, in this process. */
export async function measureLatency(session: Session, opts: LatencyOptions): Promise<Latency> {
  if (!(opts.runs >= 1) || !(opts.batch >= 1) || !(opts.seq >= 1) || !(opts.warmup >= 0)) {
    throw new Error(`measureLatency: batch, seq and runs must be >= 1 and warmup >= 0, got ${JSON.stringify(opts)}`);
  }
  const f = latencyFeeds(opts);
  for (let i = 0; i < opts.warmup; i++) await session.run(f);
  const times: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const t0 = performance.now();
    await session.run(f);
    times.push(performance.now() - t0);
  }
  const medianMs = median(times);
  return { medianMs, p90Ms: quantile(times, 0.9), minMs: Math.min(...times), throughputPerS: (opts.batch * 1000) / medianMs, runs: opts.runs };
}
