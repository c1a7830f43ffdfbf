/**
 * Inference benchmark: latency (median, p90) and throughput of an ONNX model in onnxruntime-node,
 * in this process, on random full-length inputs. Any BERT-style ONNX file with int64 inputs
 * input_ids / attention_mask / token_type_ids works, ours (fp32 or sparse int8) or another tool's.
 */
import { existsSync, statSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { MODEL_LIMITS } from '../model/config.js';
import { createSession, measureLatency } from '../onnx/runtime.js';
import { onnxPath } from '../run/layout.js';
import { intIssue, issues } from './issues.js';
import { missingMessage, resolveScope } from '../run/locate.js';
import { machineFacts, rssPeakMb, round, type MachineFacts } from '../util/memory.js';

export interface InferenceBenchOptions {
  batch: number;
  seq: number;
  /** Timed runs. */
  runs: number;
  /** Untimed runs first (ORT allocates its arenas and picks kernels on the first runs). */
  warmup: number;
  /** ORT intra-op threads; default ORT's own (one per core). */
  threads?: number;
}

export const INFERENCE_DEFAULTS = { batch: 1, seq: 128, runs: 20, warmup: 3 } as const;

export interface InferenceBenchResult extends MachineFacts {
  bench: 'inference';
  model: string;
  model_bytes: number;
  outputs: string[];
  batch: number;
  seq: number;
  runs: number;
  warmup: number;
  /** 0 = ORT's default. */
  threads: number;
  median_ms: number;
  p90_ms: number;
  /** The fastest timed run. */
  min_ms: number;
  /** Sequences per second at the median latency. */
  sequences_per_s: number;
  tokens_per_s: number;
  /** Session creation, including ORT's graph optimizations (and densifying sparse initializers). */
  load_ms: number;
  rss_peak_mb: number;
  ort_version: string;
}

/**
 * The largest values taken: a run's three int64 inputs and ORT's activations grow with batch x seq
 * (BERT-Base's FFN alone holds 12 KB per token), so 2^20 tokens is already gigabytes; above these
 * the bench would only spend minutes building inputs or fail in an allocation.
 */
export const INFERENCE_LIMITS = { batch: 65536, seq: MODEL_LIMITS.maxPositions, runs: 100_000, warmup: 10_000, threads: 1024, tokens: 2 ** 20 } as const;

export function inferenceIssues(o: Partial<InferenceBenchOptions>, flag: (key: string) => string = (k) => k): string[] {
  const L = INFERENCE_LIMITS;
  const out = issues(
    intIssue(flag('batch'), o.batch, 1, L.batch, ' rows'),
    intIssue(flag('seq'), o.seq, 1, L.seq, ' tokens'),
    intIssue(flag('runs'), o.runs, 1, L.runs),
  );
  const [b, s] = [o.batch as number, o.seq as number];
  if (b >= 1 && b <= L.batch && s >= 1 && s <= L.seq && b * s > L.tokens)
    out.push(`${flag('batch')} x ${flag('seq')} must be at most ${L.tokens} tokens per run, got ${b} x ${s}`);
  out.push(...issues(intIssue(flag('warmup'), o.warmup, 0, L.warmup)));
  if (o.threads !== undefined) out.push(...issues(intIssue(flag('threads'), o.threads, 0, L.threads, '', "0: ORT's default")));
  return out;
}

const MISSING_FIX = "give the path of an .onnx model (e.g. from 'prune-once export') or a run directory";

/**
 * The model a `bench inference` target stands for: an .onnx file as it is; a run directory (a
 * multi-task run with `task`, or a task's directory): its int8 model.
 */
export function inferenceModelPath(target: string, task?: string): string {
  if (!existsSync(target)) throw new Error(missingMessage(target, 'file or directory', MISSING_FIX));
  const { located, scope } = resolveScope(target, task, 'bench inference');
  if (!statSync(located.path).isDirectory()) return target;
  if (!scope) throw new Error(`${target}: a directory that is not a run directory; give an .onnx file or a run directory (artifacts/<name>)`);
  const model = onnxPath(scope.dir, 'int8');
  if (!existsSync(model)) throw new Error(`${model} not found: the run has not exported its int8 model yet (run the pipeline to its export stage)`);
  return model;
}

export async function runInferenceBench(modelPath: string, opts: InferenceBenchOptions): Promise<InferenceBenchResult> {
  const issues = inferenceIssues(opts);
  if (issues.length) throw new Error(`inference bench: ${issues.join('; ')}`);
  if (!existsSync(modelPath)) throw new Error(missingMessage(modelPath, 'file', MISSING_FIX));
  const bytes = statSync(modelPath).size;
  const t0 = performance.now();
  const session = await createSession(modelPath, { threads: opts.threads || undefined });
  const loadMs = performance.now() - t0;
  try {
    const missing = ['input_ids', 'attention_mask', 'token_type_ids'].filter((n) => !session.inputNames.includes(n));
    if (missing.length) {
      throw new Error(
        `${modelPath}: the model has no input ${missing.join(', ')} (its inputs: ${session.inputNames.join(', ')}); the bench feeds BERT's three int64 [batch, seq] inputs`,
      );
    }
    // One row first: a --seq above the model's positions fails here, named as such, before a large
    // batch is built.
    try {
      await measureLatency(session, { batch: 1, seq: opts.seq, runs: 1, warmup: 0 });
    } catch (e) {
      throw new Error(
        `${modelPath}: --seq ${opts.seq} is above the model's position embeddings: a [1, ${opts.seq}] batch fails in ONNX Runtime (${(e as Error).message.replace(/\s+/g, ' ').trim()}); lower --seq`,
      );
    }
    let latency;
    try {
      latency = await measureLatency(session, { batch: opts.batch, seq: opts.seq, runs: opts.runs, warmup: opts.warmup });
    } catch (e) {
      throw new Error(
        `${modelPath}: ONNX Runtime failed on a [${opts.batch}, ${opts.seq}] batch (a [1, ${opts.seq}] batch ran: is --batch too large for this machine's memory?): ${(e as Error).message}`,
      );
    }
    return {
      bench: 'inference',
      model: modelPath,
      model_bytes: bytes,
      outputs: [...session.outputNames],
      batch: opts.batch,
      seq: opts.seq,
      runs: opts.runs,
      warmup: opts.warmup,
      threads: opts.threads ?? 0,
      median_ms: round(latency.medianMs, 2),
      p90_ms: round(latency.p90Ms, 2),
      min_ms: round(latency.minMs, 2),
      sequences_per_s: round(latency.throughputPerS, 1),
      tokens_per_s: Math.round(latency.throughputPerS * opts.seq),
      load_ms: round(loadMs, 1),
      rss_peak_mb: rssPeakMb(),
      ort_version: ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown',
      ...machineFacts(),
    };
  } finally {
    await session.release();
  }
}

export function formatInferenceResult(r: InferenceBenchResult): string {
  const threads = r.threads ? `${r.threads} threads` : 'default threads';
  return [
    `inference of ${r.model} (${(r.model_bytes / 2 ** 20).toFixed(2)} MB) in onnxruntime-node ${r.ort_version}, ${threads}, ${r.cpu_count} x ${r.cpu_model}, load ${r.load_avg_1m}`,
    `batch ${r.batch} x seq ${r.seq}: median ${r.median_ms} ms, p90 ${r.p90_ms} ms, min ${r.min_ms} ms over ${r.runs} runs after ${r.warmup} warm-up`,
    `${r.sequences_per_s} sequences/s (${r.tokens_per_s} tokens/s); session load ${r.load_ms} ms; peak RSS ${r.rss_peak_mb} MB`,
  ].join('\n');
}
