/**
 * `bench compression`: what the files weigh at a given model shape, measured rather than
 * extrapolated. Builds a BERT of the preset's shape with RANDOM weights (BERT's init, N(0, 0.02)
 * truncated; no trained checkpoint can be downloaded here), prunes its encoder Linear kernels with
 * the pipeline's magnitude mask function, quantizes with the pipeline's quantize functions (int8
 * per-channel weights, per-row embedding tables of 8 or 4 bits, `--embedding-bits`), exports through the pipeline's exporter, and
 * reads the files back with `inspect` for the size table. Random values compress worse than
 * trained ones (gzip/brotli gain little on them), so the compressed ratios are a lower bound.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { otherEmbeddingChoice } from '../export/model-files.js';
import { ONNX_FILES } from '../run/layout.js';
import { initWeights } from '../model/bert.js';
import { defaultConfig, MODEL_LIMITS, presetShape, type BertConfig } from '../model/config.js';
import { encoderLinearKernels } from '../model/weights.js';
import type { ModelSnapshot, WeightData } from '../model/snapshot.js';
import { createSession, exportOnnx, inspectOnnx, sizeRatios, type OnnxInspection } from '../onnx/index.js';
import { applyMask, maskRegistry } from '../prune/masks.js';
import { INT4_EMBEDDINGS, INT8_WEIGHTS, paramsFromRange, UINT8_ACTIVATIONS, weightParams } from '../quant/quantize.js';
import type { ModelQuantization } from '../quant/types.js';
import { writeFileAtomic } from '../util/fs.js';
import { markOutputFolder, OUTPUT_MARKER, stopTracking, trackWrites } from '../util/owned-dir.js';
import { fractionIssue } from './issues.js';

export interface CompressionBenchOptions {
  preset: string;
  sparsity: number;
  vocab: number;
  seed: number;
  brotliQuality: number;
  /** Bits of the quantized embedding tables: 8 (int8) or 4 (int4, stored two a byte), as the qat stage's embeddingBits. */
  embeddingBits: 8 | 4;
  /** Keep the files here; default: a temporary directory, removed at the end. */
  out?: string;
  /** Also time ONNX Runtime session creation on the int8 file (it folds the compact subgraphs then). */
  load: boolean;
  log?: (msg: string) => void;
}

export const COMPRESSION_DEFAULTS = { preset: 'L12-H768', sparsity: 0.9, vocab: 30522, seed: 1, brotliQuality: 11, embeddingBits: 8, load: true } as const;

export interface FileRow {
  file: string;
  what: string;
  raw: number;
  gzip: number;
  brotli: number;
  parts: OnnxInspection['parts'];
}

export interface CompressionBenchResult {
  config: Pick<BertConfig, 'numLayers' | 'hiddenSize' | 'intermediateSize' | 'vocabSize' | 'maxPositions'>;
  sparsity: number;
  weights: 'random (BERT init, truncated N(0, 0.02))';
  brotliQuality: number;
  /** Bits of the int8 file's embedding tables. */
  embeddingBits: 8 | 4;
  files: FileRow[];
  ratios: ReturnType<typeof sizeRatios>;
  /** ONNX Runtime session creation on the int8 file (includes folding the compact subgraphs). */
  int8SessionMs?: number;
  seconds: number;
}

export function compressionIssues(o: Partial<CompressionBenchOptions>): string[] {
  const issues: string[] = [];
  try {
    if (o.preset !== undefined) presetShape(o.preset);
  } catch (e) {
    issues.push(`--preset: ${(e as Error).message}`);
  }
  const sparsity = o.sparsity === undefined ? undefined : fractionIssue('--sparsity', o.sparsity);
  if (sparsity) issues.push(sparsity);
  if (o.vocab !== undefined && !(Number.isInteger(o.vocab) && o.vocab >= 2 && o.vocab <= MODEL_LIMITS.vocabSize))
    issues.push(`--vocab must be an integer from 2 to ${MODEL_LIMITS.vocabSize}, got ${o.vocab}`);
  if (o.brotliQuality !== undefined && !(Number.isInteger(o.brotliQuality) && o.brotliQuality >= 0 && o.brotliQuality <= 11))
    issues.push(`--brotli-quality must be an integer in 0..11, got ${o.brotliQuality}`);
  if (o.embeddingBits !== undefined && o.embeddingBits !== 8 && o.embeddingBits !== 4) issues.push(`--embedding-bits must be 8 or 4, got ${o.embeddingBits}`);
  return issues;
}

/** What a preset's files are built from: the shape, the model's options and the seed of its random weights. */
export interface PresetModelOptions {
  preset: string;
  sparsity: number;
  vocab: number;
  seed: number;
  embeddingBits: 8 | 4;
}

/** One file of a preset's export: its name in the run layout, what it holds, and the exporter's input. */
export interface PresetExport {
  file: string;
  what: string;
  input: Parameters<typeof exportOnnx>[0];
}

/**
 * A BERT of the preset's shape with random weights (the dense teacher), a copy with its encoder
 * Linear kernels pruned by the pipeline's magnitude mask and quantized (per-channel int8 kernels,
 * per-row int8 or int4 tables), and the three files the exporter writes from them: dense teacher
 * fp32, sparse int8, sparse int8 with float32 tables. `bench compression` weighs them, `bench
 * inference --preset` times the first two.
 */
export function buildPresetModel(o: PresetModelOptions): { config: BertConfig; kernels: string[]; nonZeros: number; exports: PresetExport[] } {
  const cfg = defaultConfig({ ...presetShape(o.preset), vocabSize: o.vocab, numLabels: 2 });
  const teacher: ModelSnapshot = { config: cfg, weights: initWeights(cfg, o.seed, { mlmHead: false }) };

  // Prune: the pipeline's magnitude mask (per tensor) over the encoder Linear kernels.
  const kernels = Array.from({ length: cfg.numLayers }, (_, i) => encoderLinearKernels(i)).flat();
  const masks = maskRegistry.get('magnitude')(new Map(kernels.map((k) => [k, teacher.weights.get(k)!])), o.sparsity);
  const student = new Map<string, WeightData>(teacher.weights);
  for (const k of kernels) student.set(k, { shape: teacher.weights.get(k)!.shape, data: applyMask(teacher.weights.get(k)!.data, masks.get(k)!) });
  const snapshot: ModelSnapshot = { config: cfg, weights: student };

  // Quantize: per-channel int8 kernels, per-row int8 (or int4) tables; activation ranges do not change sizes.
  const q: ModelQuantization = otherEmbeddingChoice(snapshot, {
    weightSpec: INT8_WEIGHTS,
    activationSpec: UINT8_ACTIVATIONS,
    embeddingSpec: o.embeddingBits === 4 ? INT4_EMBEDDINGS : INT8_WEIGHTS,
    bias: 'float32',
    embeddings: {},
    weights: Object.fromEntries(kernels.map((k) => [k, weightParams(student.get(k)!.data, [...student.get(k)!.shape], INT8_WEIGHTS)])),
    inputs: Object.fromEntries(kernels.map((k) => [k, paramsFromRange([-8], [8], UINT8_ACTIVATIONS, -1)])),
  });

  const metadata = { model_config: JSON.stringify(cfg), bench: `random weights, ${o.sparsity} sparsity` };
  const exports: PresetExport[] = [
    { file: ONNX_FILES.teacher, what: 'dense teacher (fp32)', input: { snapshot: teacher, format: 'fp32', metadata } },
    { file: ONNX_FILES.int8, what: `sparse int8, int${o.embeddingBits} tables`, input: { snapshot, format: 'int8', quantization: q, metadata } },
    {
      file: ONNX_FILES.int8_alt,
      what: 'sparse int8, float32 tables',
      input: { snapshot, format: 'int8', quantization: otherEmbeddingChoice(snapshot, q), metadata },
    },
  ];
  const nonZeros = kernels.reduce((a, k) => a + masks.get(k)!.reduce((s, m) => s + m, 0), 0);
  return { config: cfg, kernels, nonZeros, exports };
}

export async function runCompressionBench(o: CompressionBenchOptions): Promise<CompressionBenchResult> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  log(`building ${o.preset} (vocab ${o.vocab}) with random weights`);
  const { config: cfg, nonZeros, exports: jobs } = buildPresetModel(o);

  const dir = o.out ?? mkdtempSync(join(tmpdir(), 'prune-once-bench-compression-'));
  mkdirSync(dir, { recursive: true });
  // --out: replaces only files an earlier bench wrote there (util/owned-dir.ts), never one of the user's.
  if (o.out) trackWrites(dir, markOutputFolder(dir, OUTPUT_MARKER));
  const files: FileRow[] = [];
  let int8SessionMs: number | undefined;
  try {
    for (const j of jobs) {
      const { bytes } = exportOnnx(j.input);
      const path = join(dir, j.file);
      writeFileAtomic(path, bytes);
      log(`wrote ${path} (${bytes.length} bytes); compressing (gzip -9 and brotli quality ${o.brotliQuality}; quality 11 runs ~0.5 MB/s)`);
      const ins = inspectOnnx(bytes, { source: path, sizes: true, brotliQuality: o.brotliQuality });
      if (ins.errors.length) throw new Error(ins.errors.join('; '));
      files.push({ file: j.file, what: j.what, raw: ins.sizes!.raw, gzip: ins.sizes!.gzip, brotli: ins.sizes!.brotli, parts: ins.parts });
      if (j.file === ONNX_FILES.int8 && o.load) {
        const t = performance.now();
        const session = await createSession(readFileSync(path));
        int8SessionMs = performance.now() - t;
        await session.release();
      }
    }
  } finally {
    if (!o.out) rmSync(dir, { recursive: true, force: true });
    else stopTracking(dir);
  }
  const [t, i8] = files;
  return {
    config: {
      numLayers: cfg.numLayers,
      hiddenSize: cfg.hiddenSize,
      intermediateSize: cfg.intermediateSize,
      vocabSize: cfg.vocabSize,
      maxPositions: cfg.maxPositions,
    },
    sparsity: o.sparsity,
    weights: 'random (BERT init, truncated N(0, 0.02))',
    brotliQuality: o.brotliQuality,
    embeddingBits: o.embeddingBits,
    files,
    ratios: sizeRatios({ sizes: { ...t, brotliQuality: o.brotliQuality } }, { sizes: { ...i8, brotliQuality: o.brotliQuality }, parts: i8.parts }, nonZeros),
    ...(int8SessionMs !== undefined ? { int8SessionMs } : {}),
    seconds: (performance.now() - t0) / 1000,
  };
}

const kib = (n: number) => (n / 1024).toFixed(1);
const mib = (n: number) => (n / 2 ** 20).toFixed(2);

export function formatCompressionResult(r: CompressionBenchResult): string {
  const c = r.config;
  const head = [
    'file',
    'what',
    'MiB raw',
    'MiB gzip -9',
    `MiB brotli ${r.brotliQuality}`,
    'embeddings KiB',
    'encoder Linear KiB',
    'heads KiB',
    'other KiB',
    'bits/enc weight',
  ];
  const rows = r.files.map((f) => [
    f.file,
    f.what,
    mib(f.raw),
    mib(f.gzip),
    mib(f.brotli),
    kib(f.parts.bytes.embeddings),
    kib(f.parts.bytes.encoderLinear),
    kib(f.parts.bytes.heads),
    kib(f.parts.bytes.other),
    f.parts.encoderBitsPerWeight === null ? '-' : f.parts.encoderBitsPerWeight.toFixed(2),
  ]);
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((row) => row[k].length)));
  const line = (row: string[]) => row.map((cell, k) => (k < 2 ? cell.padEnd(widths[k]) : cell.padStart(widths[k]))).join('  ');
  const x = (v: number) => `${v.toFixed(2)}x`;
  const R = r.ratios;
  return [
    `L${c.numLayers}-H${c.hiddenSize} (FFN ${c.intermediateSize}, vocab ${c.vocabSize}, ${c.maxPositions} positions), ${(100 * r.sparsity).toFixed(0)}% sparse encoder Linear weights, int${r.embeddingBits} embedding tables (--embedding-bits ${r.embeddingBits}); ${r.weights}: compressed ratios are a lower bound`,
    '',
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    '',
    `dense teacher over int8: ${x(R.raw)} raw, ${x(R.gzip)} gzip -9, ${x(R.brotli)} brotli ${r.brotliQuality}; encoder_stored ${x(R.encoder_stored)}; encoder_theoretical ${x(R.encoder_theoretical)}`,
    ...(r.int8SessionMs !== undefined ? [`ONNX Runtime session creation on the int8 file (folds the compact weights): ${r.int8SessionMs.toFixed(0)} ms`] : []),
    `(${r.seconds.toFixed(1)} s)`,
  ].join('\n');
}
