/**
 * Does 90% sparsity pay at inference? `bench sparse-inference` times the sparse int8 kernel
 * (src/backend/sparse: WebAssembly SIMD128, weights stationary, tokens as SIMD lanes) against ONNX
 * Runtime's dense int8 (QuantizeLinear + MatMulIntegerToFloat, what ORT fuses the exporter's QDQ
 * MatMul into) on the encoder's Linear shapes and on all the Linears of a whole encoder, in one
 * run, the contenders interleaved (A, B, C, A, B, C, ...) so that a loaded machine slows them alike.
 *
 * The weights are random int8 at the given sparsity; the kernel gets them through the exporter's
 * compact storage (chooseWeightStorage) and the load-time conversion (kernelLayoutOf), ONNX Runtime
 * as a dense int8 initializer (what it rebuilds from any sparse storage at load). Activations:
 * ONNX Runtime takes x [tokens, in] and returns y [tokens, out]; the kernel works token-minor,
 * [in, tokens] -> [out, tokens], the layout a sparse runtime would keep between Linears, so no
 * transposes are timed. Bias adds are left out of both.
 */
import * as ort from 'onnxruntime-node';
import { SparseKernel, layoutBytes, type KernelActivation, type KernelMode, type KernelWeight, type SparseLayout } from '../backend/sparse/spmm.js';
import { GraphBuilder, valueInfo } from '../onnx/graph.js';
import { kernelLayoutOf } from '../onnx/kernel-layout.js';
import { DT, encodeModel, floatTensor, int8Tensor, onnx, uint8Tensor } from '../onnx/proto.js';
import { createSession, type Session } from '../onnx/runtime.js';
import { chooseWeightStorage } from '../onnx/storage.js';
import { OPSET } from '../onnx/export.js';
import { machineFacts, round, type MachineFacts } from '../util/memory.js';
import { Rng } from '../util/rng.js';
import { fractionIssue, intIssue, issues } from './issues.js';

export interface SparseInferenceOptions {
  sparsity: number;
  hidden: number;
  /** Encoder layers of the whole-encoder row (0: no such row). */
  layers: number;
  seq: number;
  /** Sequences per batch, each timed. */
  batches: number[];
  /** Threads, each timed: ONNX Runtime's intra-op threads and the kernel's (1 = no workers). */
  threads: number[];
  /** Seconds of interleaved rounds per row (at least `minRuns` rounds). */
  seconds: number;
  minRuns: number;
  seed: number;
  log?: (m: string) => void;
}

export const SPARSE_INFERENCE_DEFAULTS = {
  sparsity: 0.9,
  hidden: 768,
  layers: 12,
  seq: 128,
  batches: [1, 8],
  threads: [1, 2],
  seconds: 3,
  minRuns: 5,
  seed: 1,
} as const;

export function sparseInferenceIssues(o: SparseInferenceOptions, flag: (key: string) => string = (k) => k): string[] {
  const out = issues(
    fractionIssue(flag('sparsity'), o.sparsity),
    ...(['hidden', 'seq', 'minRuns'] as const).map((k) => intIssue(flag(k), o[k], 1)),
    intIssue(flag('layers'), o.layers, 0),
  );
  if (4 * o.hidden > 65536) out.push(`${flag('hidden')} must be at most 16384 (the kernel's column indices are uint16; the FFN is 4 x hidden)`);
  for (const k of ['batches', 'threads'] as const)
    if (!o[k].length || o[k].some((v) => !Number.isInteger(v) || v < 1)) out.push(`${flag(k)} must be positive integers, got ${o[k].join(' ')}`);
  if (!(o.seconds > 0)) out.push(`${flag('seconds')} must be > 0, got ${o.seconds}`);
  return out;
}

/** Median and spread of one contender's runs, in ms. */
export interface Timing {
  median_ms: number;
  /** The fastest run: on a loaded machine, the nearest to an idle one. */
  min_ms: number;
  p10_ms: number;
  p90_ms: number;
  runs: number;
}

export interface SparseInferenceRow {
  /** 'in x out' of one Linear, or 'encoder' (every Linear of `layers` layers, in order). */
  shape: string;
  batch: number;
  tokens: number;
  threads: number;
  ort_int8: Timing;
  sparse_f32: Timing;
  sparse_i8: Timing;
  /** ORT median / kernel median: above 1, the kernel is faster. */
  speedup_f32: number;
  speedup_i8: number;
}

export interface ShapeFacts {
  shape: string;
  linears: number;
  non_zeros: number;
  dense_int8_bytes: number;
  /** The exporter's compact storage (what the file holds). */
  compact_bytes: number;
  /** The kernel's layout after the load-time conversion. */
  kernel_bytes: number;
  /**
   * One Linear only (through a chain ORT's fixed activation scale compounds): max |kernel - ORT| /
   * max |ORT| on the first batch; the f32 path differs by ORT's activation quantization only.
   */
  max_rel_diff_f32?: number;
  max_rel_diff_i8?: number;
}

export interface SparseInferenceResult extends MachineFacts {
  bench: 'sparse-inference';
  sparsity: number;
  hidden: number;
  layers: number;
  seq: number;
  seconds: number;
  /** ORT's op types after its optimizations, for one Linear (should be QuantizeLinear + MatMulIntegerToFloat). */
  ort_ops: string[];
  shapes: ShapeFacts[];
  rows: SparseInferenceRow[];
  ort_version: string;
  /** 1-minute load average when the run started (load_avg_1m: when it ended). */
  load_avg_start: number;
}

/** One Linear's random int8 weight [in, out], its per-output scale and the kernel layout via the compact storage. */
export interface BenchWeight {
  inDim: number;
  outDim: number;
  q: Int8Array;
  scale: Float32Array;
  layout: SparseLayout;
  compactBytes: number;
}

export function randomBenchWeight(rng: Rng, inDim: number, outDim: number, sparsity: number, name = 'weight'): BenchWeight {
  const q = new Int8Array(inDim * outDim);
  for (let f = 0; f < q.length; f++) if (rng.next() >= sparsity) q[f] = rng.int(254) - 127 || 127;
  // Scales that keep a unit-variance input at unit variance (E[q^2] ~ 127^2 / 3), so a chain stays finite.
  const s = 1 / Math.sqrt((Math.max(1, inDim * (1 - sparsity)) * (127 * 127)) / 3);
  const scale = new Float32Array(outDim).fill(s);
  const stored = chooseWeightStorage(q, [inDim, outDim], 'compact', name);
  const layout = kernelLayoutOf(name, [inDim, outDim], stored.encoded ?? q, scale);
  return { inDim, outDim, q, scale, layout, compactBytes: stored.bytes };
}

/** The activation scale of the ORT models' QuantizeLinear (uint8, zero point 128): +-4 covers a unit normal. */
const ACT_SCALE = 4 / 127;

/**
 * x [tokens, in] -> a chain of MatMuls with int8 weights (DequantizeLinear axis 1, zero point 0),
 * each input through QuantizeLinear/DequantizeLinear when `activationQdq` (ORT then runs
 * MatMulIntegerToFloat) or in float when not (weight-only QDQ: ORT runs a float MatMul).
 */
export function matMulChainModel(weights: readonly BenchWeight[], activationQdq = true): Uint8Array {
  const b = new GraphBuilder();
  const input = b.claim('x');
  const aScale = b.addInitializer(floatTensor('act_scale', [], Float32Array.of(ACT_SCALE)));
  const aZero = b.addInitializer(uint8Tensor('act_zero_point', [], Uint8Array.of(128)));
  let x = input;
  weights.forEach((w, k) => {
    const s = `linear_${k}`;
    const q = b.addInitializer(int8Tensor(`${s}/weight`, [w.inDim, w.outDim], w.q));
    const scale = b.addInitializer(floatTensor(`${s}/scale`, [w.outDim], w.scale));
    const zero = b.addInitializer(int8Tensor(`${s}/zero_point`, [w.outDim], new Int8Array(w.outDim)));
    const wf = b.node('DequantizeLinear', [q, scale, zero], { scope: s, attrs: { axis: 1 } })[0];
    const xin = activationQdq ? b.op('DequantizeLinear', [b.op('QuantizeLinear', [x, aScale, aZero], s), aScale, aZero], s) : x;
    x = b.node('MatMul', [xin, wf], { scope: s, ...(k === weights.length - 1 ? { outputNames: [b.claim('y')] } : {}) })[0];
  });
  const last = weights[weights.length - 1];
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'prune-once bench sparse-inference',
    graph: {
      name: 'matmul-chain',
      node: b.nodes,
      initializer: b.initializers,
      input: [valueInfo(input, DT.FLOAT, ['tokens', weights[0].inDim])],
      output: [valueInfo('y', DT.FLOAT, ['tokens', last.outDim])],
    },
  });
}

/** The Linears of one encoder layer, in order: query, key, value, attention output, FFN in, FFN out. */
const layerShapes = (h: number): Array<[number, number]> => [
  [h, h],
  [h, h],
  [h, h],
  [h, h],
  [h, 4 * h],
  [4 * h, h],
];

function timing(ms: number[]): Timing {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(p * (s.length - 1))))];
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { median_ms: round(median, 3), min_ms: round(s[0], 3), p10_ms: round(at(0.1), 3), p90_ms: round(at(0.9), 3), runs: s.length };
}

/** A unit-normal x [tokens, features]. */
function randomInput(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** The kernel's side of one row: the chain's weights uploaded, an input and two ping-pong buffers. */
class KernelChain {
  private readonly weights: KernelWeight[];
  private readonly x: KernelActivation;
  private readonly a: KernelActivation;
  private readonly b: KernelActivation;

  constructor(
    private readonly kernel: SparseKernel,
    chain: readonly BenchWeight[],
    tokens: number,
    input: Float32Array,
  ) {
    this.weights = chain.map((w) => kernel.upload(w.layout));
    const widest = Math.max(...chain.map((w) => w.outDim));
    this.x = kernel.activation(chain[0].inDim, tokens);
    this.a = kernel.activation(widest, tokens);
    this.b = kernel.activation(widest, tokens);
    kernel.write(this.x, input);
  }

  /** Runs the chain; returns the last output (a view valid until the next run). */
  run(mode: KernelMode): KernelActivation {
    let x = this.x;
    this.weights.forEach((w, k) => {
      const buf = k % 2 ? this.b : this.a;
      const y = { ...buf, features: w.outDim };
      this.kernel.linear(w, x, y, mode);
      x = y;
    });
    return x;
  }

  read(a: KernelActivation): Float32Array {
    return this.kernel.read(a);
  }
}

function maxRelDiff(got: Float32Array, want: Float32Array): number {
  let ref = 0;
  let err = 0;
  for (let k = 0; k < want.length; k++) {
    ref = Math.max(ref, Math.abs(want[k]));
    err = Math.max(err, Math.abs(got[k] - want[k]));
  }
  return ref > 0 ? err / ref : err;
}

async function ortOps(model: Uint8Array): Promise<string[]> {
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'prune-once-sparse-bench-'));
  try {
    const path = join(dir, 'optimized.onnx');
    // 'extended' already holds the QDQ fusions; 'all' (the timed sessions') would make ORT warn
    // that the saved graph is hardware-specific.
    const s = await createSession(model, { threads: 1, graphOptimizationLevel: 'extended', optimizedModelFilePath: path });
    await s.release();
    return (onnx.ModelProto.decode(readFileSync(path)).graph?.node ?? []).map((n) => n.opType ?? '?');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runSparseInferenceBench(o: SparseInferenceOptions): Promise<SparseInferenceResult> {
  const issues = sparseInferenceIssues(o);
  if (issues.length) throw new Error(`sparse-inference bench: ${issues.join('; ')}`);
  const log = o.log ?? (() => {});
  const loadStart = machineFacts().load_avg_1m;
  const rng = new Rng(o.seed);
  const h = o.hidden;
  const singles: Array<[string, BenchWeight[]]> = (
    [
      [h, 4 * h],
      [4 * h, h],
      [h, h],
    ] as Array<[number, number]>
  ).map(([i, out]) => [`${i}x${out}`, [randomBenchWeight(rng, i, out, o.sparsity, `${i}x${out}`)]]);
  const groups = [...singles];
  if (o.layers > 0) {
    log(`building ${o.layers} layers of random int8 weights at sparsity ${o.sparsity}`);
    const chain = Array.from({ length: o.layers }, (_, l) =>
      layerShapes(h).map(([i, out], k) => randomBenchWeight(rng, i, out, o.sparsity, `layer_${l}/linear_${k}`)),
    ).flat();
    groups.push(['encoder', chain]);
  }
  const kernels = new Map<number, SparseKernel>();
  for (const t of o.threads) kernels.set(t, await SparseKernel.create(t));
  const ops = await ortOps(matMulChainModel(singles[2][1]));
  const shapes: ShapeFacts[] = [];
  const rows: SparseInferenceRow[] = [];
  try {
    for (const [shape, chain] of groups) {
      const model = matMulChainModel(chain);
      const facts: ShapeFacts = {
        shape,
        linears: chain.length,
        non_zeros: chain.reduce((n, w) => n + w.layout.nonZeros, 0),
        dense_int8_bytes: chain.reduce((n, w) => n + w.q.length, 0),
        compact_bytes: chain.reduce((n, w) => n + w.compactBytes, 0),
        kernel_bytes: chain.reduce((n, w) => n + layoutBytes(w.layout), 0),
      };
      shapes.push(facts);
      for (const threads of o.threads) {
        const session = await createSession(model, { threads });
        try {
          for (const batch of o.batches) {
            const tokens = batch * o.seq;
            const input = randomInput(rng, tokens * chain[0].inDim);
            const feed = { x: new ort.Tensor('float32', input, [tokens, chain[0].inDim]) };
            const kc = new KernelChain(kernels.get(threads)!, chain, tokens, input);
            if (chain.length === 1 && facts.max_rel_diff_f32 === undefined) {
              const want = (await session.run(feed)).y.data as Float32Array;
              facts.max_rel_diff_f32 = round(maxRelDiff(kc.read(kc.run('f32')), want), 5);
              facts.max_rel_diff_i8 = round(maxRelDiff(kc.read(kc.run('i8')), want), 5);
            }
            const row = await interleave(session, feed, kc, o);
            rows.push({ shape, batch, tokens, threads, ...row });
            log(formatRow(rows[rows.length - 1]));
          }
        } finally {
          await session.release();
        }
      }
    }
  } finally {
    for (const k of kernels.values()) await k.close();
  }
  const facts = machineFacts();
  return {
    bench: 'sparse-inference',
    sparsity: o.sparsity,
    hidden: h,
    layers: o.layers,
    seq: o.seq,
    seconds: o.seconds,
    ort_ops: ops,
    shapes,
    rows,
    ort_version: ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown',
    load_avg_start: loadStart,
    ...facts,
  };
}

/** Rounds of ORT, kernel f32, kernel i8 (after one untimed round) until `seconds` pass and `minRuns` rounds are done. */
async function interleave(
  session: Session,
  feed: Record<string, ort.Tensor>,
  kc: KernelChain,
  o: SparseInferenceOptions,
): Promise<Omit<SparseInferenceRow, 'shape' | 'batch' | 'tokens' | 'threads'>> {
  const t: Record<'ort' | 'f32' | 'i8', number[]> = { ort: [], f32: [], i8: [] };
  const time = async (f: () => unknown): Promise<number> => {
    const t0 = performance.now();
    await f();
    return performance.now() - t0;
  };
  await session.run(feed);
  kc.run('f32');
  kc.run('i8');
  const start = performance.now();
  while (t.ort.length < o.minRuns || performance.now() - start < o.seconds * 1000) {
    t.ort.push(await time(() => session.run(feed)));
    t.f32.push(await time(() => kc.run('f32')));
    t.i8.push(await time(() => kc.run('i8')));
  }
  const [ortT, f32, i8] = [timing(t.ort), timing(t.f32), timing(t.i8)];
  return {
    ort_int8: ortT,
    sparse_f32: f32,
    sparse_i8: i8,
    speedup_f32: round(ortT.median_ms / f32.median_ms, 2),
    speedup_i8: round(ortT.median_ms / i8.median_ms, 2),
  };
}

const fmtT = (t: Timing) => `${t.median_ms.toFixed(2)} [${t.p10_ms.toFixed(2)}-${t.p90_ms.toFixed(2)}, min ${t.min_ms.toFixed(2)}]`;

function formatRow(r: SparseInferenceRow): string {
  return `${r.shape.padEnd(9)} batch ${String(r.batch).padStart(2)} (${String(r.tokens).padStart(4)} tokens) ${r.threads} thr: ORT int8 ${fmtT(r.ort_int8)} ms | sparse f32 ${fmtT(r.sparse_f32)} ms (${r.speedup_f32}x) | sparse i8 ${fmtT(r.sparse_i8)} ms (${r.speedup_i8}x)  [${r.ort_int8.runs} rounds]`;
}

export function formatSparseInferenceResult(r: SparseInferenceResult): string {
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(2)} MB`;
  return [
    `sparse int8 kernel (wasm SIMD128) vs ONNX Runtime ${r.ort_version} dense int8 (${r.ort_ops.join(' + ')}), sparsity ${r.sparsity}, hidden ${r.hidden}, seq ${r.seq}`,
    `${r.cpu_count} x ${r.cpu_model}, load (1 min) ${r.load_avg_start} at the start, ${r.load_avg_1m} at the end; medians [p10-p90, min] of interleaved rounds; speedup = ORT / kernel`,
    ...r.shapes.map(
      (s) =>
        `${s.shape}: ${s.linears} Linear(s), ${s.non_zeros} non-zeros; dense int8 ${mb(s.dense_int8_bytes)}, compact storage ${mb(s.compact_bytes)}, kernel layout ${mb(s.kernel_bytes)}${s.max_rel_diff_f32 === undefined ? '' : `; max rel. diff vs ORT f32 ${s.max_rel_diff_f32}, i8 ${s.max_rel_diff_i8}`}`,
    ),
    ...r.rows.map(formatRow),
  ].join('\n');
}
