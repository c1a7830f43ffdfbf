/**
 * `bench inference --preset`: dense fp32 against the sparse int8 file at a model's shape, in
 * onnxruntime-node, interleaved in one run. Builds the files as `bench compression` does (a BERT of
 * the preset's shape with random weights, pruned and quantized by the pipeline's code, exported by
 * its exporter): the dense teacher (`model.teacher.fp32.onnx`) and the sparse int8 model
 * (`model.int8.onnx`). For each thread count both sessions are created, then for each batch they
 * run in turn (fp32, int8, int8, fp32, ...) on the same random full-length inputs, so a change of
 * load hits both alike. Latency does not depend on the weights' values, so random weights time as
 * trained ones would. There is no sparse runtime to compare (docs/inference-speed.md: the sparse
 * kernel does not ship): ONNX Runtime densifies the int8 weights at load.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { defaultConfig, type BertConfig } from '../model/config.js';
import { createSession, exportOnnx, latencyFeeds, type Session } from '../onnx/index.js';
import { ONNX_FILES } from '../run/layout.js';
import { writeFileAtomic } from '../util/fs.js';
import { machineFacts, round, rssPeakMb, type MachineFacts } from '../util/memory.js';
import { markOutputFolder, OUTPUT_MARKER, stopTracking, trackWrites } from '../util/owned-dir.js';
import { median, quantile } from '../util/stats.js';
import { buildPresetModel, compressionIssues } from './compression.js';
import { inferenceIssues } from './inference.js';
import { intIssue, issues } from './issues.js';

export interface PresetInferenceOptions {
  preset: string;
  sparsity: number;
  vocab: number;
  seed: number;
  embeddingBits: 8 | 4;
  seq: number;
  batches: number[];
  threads: number[];
  /** Timed runs of each file per row, interleaved. */
  runs: number;
  /** Untimed runs of each file first, per row. */
  warmup: number;
  /** Keep the files here; default: a temporary directory, removed at the end. */
  out?: string;
  log?: (msg: string) => void;
}

export const PRESET_INFERENCE_DEFAULTS = {
  preset: 'L12-H768',
  sparsity: 0.9,
  vocab: 30522,
  seed: 1,
  embeddingBits: 8,
  seq: 128,
  batches: [1, 8],
  threads: [1, 2],
  runs: 20,
  warmup: 3,
} as const;

/** The two files timed, in the order of the table's columns. */
export const PRESET_INFERENCE_FILES = [ONNX_FILES.teacher, ONNX_FILES.int8] as const;

export interface Timing {
  median_ms: number;
  min_ms: number;
  p90_ms: number;
  runs: number;
}

export interface PresetInferenceRow {
  batch: number;
  threads: number;
  fp32: Timing;
  int8: Timing;
  /** fp32 / int8 median latency: above 1, the int8 file is faster. */
  speedup_median: number;
  /** fp32 / int8 fastest run. */
  speedup_min: number;
}

export interface PresetInferenceResult extends MachineFacts {
  bench: 'inference-preset';
  preset: string;
  config: Pick<BertConfig, 'numLayers' | 'hiddenSize' | 'numHeads' | 'intermediateSize' | 'vocabSize' | 'maxPositions'>;
  sparsity: number;
  embedding_bits: 8 | 4;
  weights: 'random (BERT init, truncated N(0, 0.02))';
  seq: number;
  runs: number;
  warmup: number;
  files: Array<{ file: string; what: string; bytes: number; load_ms: Record<string, number> }>;
  rows: PresetInferenceRow[];
  /** 1-minute load average when the timing started; `load_avg_1m` is the one at the end. */
  load_avg_1m_start: number;
  ort_version: string;
  rss_peak_mb: number;
  seconds: number;
}

export function presetInferenceIssues(o: Partial<PresetInferenceOptions>, flag: (key: string) => string = (k) => k): string[] {
  const out = compressionIssues({ preset: o.preset, sparsity: o.sparsity, vocab: o.vocab, embeddingBits: o.embeddingBits });
  if (!o.batches?.length) out.push(`${flag('batch')}: give at least one`);
  if (!o.threads?.length) out.push(`${flag('threads')}: give at least one`);
  for (const b of o.batches ?? []) out.push(...inferenceIssues({ batch: b, seq: o.seq, runs: o.runs, warmup: o.warmup }, flag));
  if (!o.batches?.length) out.push(...inferenceIssues({ batch: 1, seq: o.seq, runs: o.runs, warmup: o.warmup }, flag));
  out.push(...issues(...(o.threads ?? []).map((t) => intIssue(flag('threads'), t, 1, 1024))));
  const positions = defaultConfig().maxPositions;
  if (o.seq !== undefined && Number.isInteger(o.seq) && o.seq > positions)
    out.push(`${flag('seq')} must be at most the preset's ${positions} positions, got ${o.seq}`);
  return [...new Set(out)];
}

function timing(ms: number[]): Timing {
  return { median_ms: round(median(ms), 3), min_ms: round(Math.min(...ms), 3), p90_ms: round(quantile(ms, 0.9), 3), runs: ms.length };
}

export async function runPresetInferenceBench(o: PresetInferenceOptions): Promise<PresetInferenceResult> {
  const found = presetInferenceIssues(o);
  if (found.length) throw new Error(`inference bench: ${found.join('; ')}`);
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  log(`building ${o.preset} (vocab ${o.vocab}) with random weights, ${o.sparsity} sparse`);
  const model = buildPresetModel(o);
  const cfg = model.config;

  const dir = o.out ?? mkdtempSync(join(tmpdir(), 'prune-once-bench-inference-'));
  mkdirSync(dir, { recursive: true });
  // --out: replaces only files an earlier bench wrote there (util/owned-dir.ts), never one of the user's.
  if (o.out) trackWrites(dir, markOutputFolder(dir, OUTPUT_MARKER));
  const files: PresetInferenceResult['files'] = [];
  const rows: PresetInferenceRow[] = [];
  let loadStart = 0;
  try {
    for (const name of PRESET_INFERENCE_FILES) {
      const job = model.exports.find((e) => e.file === name)!;
      const path = join(dir, name);
      writeFileAtomic(path, exportOnnx(job.input).bytes);
      files.push({ file: name, what: job.what, bytes: statSync(path).size, load_ms: {} });
      log(`wrote ${path} (${files.at(-1)!.bytes} bytes)`);
    }
    loadStart = round(loadavg()[0], 2);
    for (const threads of o.threads) {
      const sessions: Session[] = [];
      try {
        for (const f of files) {
          const t = performance.now();
          sessions.push(await createSession(join(dir, f.file), { threads }));
          f.load_ms[String(threads)] = round(performance.now() - t, 1);
        }
        for (const batch of o.batches) {
          log(`timing batch ${batch} x ${o.seq} on ${threads} thread(s): ${o.runs} runs of each file, interleaved`);
          const feeds = latencyFeeds({ batch, seq: o.seq, vocabSize: cfg.vocabSize, seed: o.seed });
          const times: number[][] = sessions.map(() => []);
          for (let i = 0; i < o.warmup + o.runs; i++) {
            // Alternate which file goes first, so neither always runs just after the other.
            const order = i % 2 ? [1, 0] : [0, 1];
            for (const k of order) {
              const t = performance.now();
              await sessions[k].run(feeds);
              if (i >= o.warmup) times[k].push(performance.now() - t);
            }
          }
          const [fp32, int8] = times.map(timing);
          rows.push({
            batch,
            threads,
            fp32,
            int8,
            speedup_median: round(fp32.median_ms / int8.median_ms, 2),
            speedup_min: round(fp32.min_ms / int8.min_ms, 2),
          });
        }
      } finally {
        for (const s of sessions) await s.release();
      }
    }
  } finally {
    if (!o.out) rmSync(dir, { recursive: true, force: true });
    else stopTracking(dir);
  }
  rows.sort((a, b) => a.batch - b.batch || a.threads - b.threads);
  return {
    bench: 'inference-preset',
    preset: o.preset,
    config: {
      numLayers: cfg.numLayers,
      hiddenSize: cfg.hiddenSize,
      numHeads: cfg.numHeads,
      intermediateSize: cfg.intermediateSize,
      vocabSize: cfg.vocabSize,
      maxPositions: cfg.maxPositions,
    },
    sparsity: o.sparsity,
    embedding_bits: o.embeddingBits,
    weights: 'random (BERT init, truncated N(0, 0.02))',
    seq: o.seq,
    runs: o.runs,
    warmup: o.warmup,
    files,
    rows,
    load_avg_1m_start: loadStart,
    ort_version: ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown',
    rss_peak_mb: rssPeakMb(),
    seconds: round((performance.now() - t0) / 1000, 1),
    ...machineFacts(),
  };
}

const ms = (v: number) => (v >= 100 ? v.toFixed(1) : v.toFixed(2));
const cell = (t: Timing) => `${ms(t.median_ms)} [${ms(t.min_ms)}]`;

export function formatPresetInferenceResult(r: PresetInferenceResult): string {
  const c = r.config;
  const mib = (n: number) => (n / 2 ** 20).toFixed(2);
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    `${r.preset}: ${c.numLayers} layers, hidden ${c.hiddenSize} (FFN ${c.intermediateSize}, vocab ${c.vocabSize}), ${(100 * r.sparsity).toFixed(0)}% sparse encoder Linears, int${r.embedding_bits} embedding tables; ${r.weights}`,
    `onnxruntime-node ${r.ort_version}, ${r.cpu_count} x ${r.cpu_model}, load ${r.load_avg_1m_start} at the start, ${r.load_avg_1m} at the end`,
    ...r.files.map(
      (f) =>
        `  ${f.file}, ${f.what}: ${mib(f.bytes)} MiB; session creation ${Object.entries(f.load_ms)
          .map(([t, v]) => `${v.toFixed(0)} ms on ${t} thread${t === '1' ? '' : 's'}`)
          .join(', ')}`,
    ),
    '',
    `ms per batch of ${r.seq}-token rows, median [min] of ${r.runs} runs each, the two files interleaved (after ${r.warmup} warm-up runs each):`,
    '',
    row(['batch', 'threads', 'dense fp32', 'sparse int8 (ORT)', 'int8 speed-up, medians', 'by minima']),
    row(Array(6).fill('---')),
    ...r.rows.map((w) =>
      row([String(w.batch), String(w.threads), cell(w.fp32), cell(w.int8), `${w.speedup_median.toFixed(2)}x`, `${w.speedup_min.toFixed(2)}x`]),
    ),
    '',
    `ONNX Runtime densifies the sparse int8 weights at load: the int8 file runs as a dense int8 one would (docs/inference-speed.md). (${r.seconds} s; peak RSS ${r.rss_peak_mb} MB)`,
  ].join('\n');
}
