/**
 * The sparse int8 Linear kernel (kernel.c, built to WebAssembly SIMD128) from JavaScript: the
 * kernel's weight layout, a heap to put weights and activations in, and the calls, on one thread or
 * split by output rows over worker threads that share the heap (Node's worker_threads).
 *
 * Activations are token-minor: a [features, tokens] matrix, each feature's tokens contiguous, the
 * row stride `ld` = tokens rounded up to 8 (padding lanes zero). A Linear maps X [in, ld] to
 * Y [out, ld]: the transpose of the usual [tokens, features], so a chain of Linears needs no
 * transposes between them.
 */
import { SPARSE_KERNEL_WASM_BASE64 } from './kernel-wasm.js';

/** A weight in the kernel's layout: by output row, column indices and int8 values, each row's count even. */
export interface SparseLayout {
  inDim: number;
  outDim: number;
  /** [outDim + 1]: row o's entries are rowStart[o] .. rowStart[o + 1]. */
  rowStart: Uint32Array;
  cols: Uint16Array;
  vals: Int8Array;
  /** [outDim]: the per-output-channel dequantization scale. */
  scale: Float32Array;
  /** Non-zero weights (entries minus the padding that makes each row's count even). */
  nonZeros: number;
}

/** Bytes of the layout: 3 a stored entry, 8 a row (row start + scale), 4 more. */
export const layoutBytes = (l: SparseLayout): number => l.rowStart.byteLength + l.cols.byteLength + l.vals.byteLength + l.scale.byteLength;

/**
 * The layout of an int8 weight W [inDim, outDim] (ONNX MatMul's layout, per-channel scale along
 * the outputs) given by its non-zeros: `flat` their row-major indices into W, ascending, and
 * `values` (zeros among them are skipped, so the gap encoding's fillers can be passed as they are).
 */
export function layoutFromEntries(inDim: number, outDim: number, flat: ArrayLike<number>, values: ArrayLike<number>, scale: Float32Array): SparseLayout {
  if (inDim < 1 || inDim > 65536) throw new Error(`sparse kernel: input dimension ${inDim} must be in 1..65536 (column indices are uint16)`);
  if (scale.length !== outDim) throw new Error(`sparse kernel: ${scale.length} scales for ${outDim} output channels`);
  if (flat.length !== values.length) throw new Error(`sparse kernel: ${flat.length} indices but ${values.length} values`);
  const count = new Uint32Array(outDim);
  let nonZeros = 0;
  for (let k = 0; k < flat.length; k++) {
    if (values[k] === 0) continue;
    const f = flat[k];
    if (!(f >= 0 && f < inDim * outDim)) throw new Error(`sparse kernel: index ${f} outside the [${inDim}, ${outDim}] weight`);
    count[f % outDim]++;
    nonZeros++;
  }
  const rowStart = new Uint32Array(outDim + 1);
  for (let o = 0; o < outDim; o++) rowStart[o + 1] = rowStart[o] + count[o] + (count[o] & 1);
  const cols = new Uint16Array(rowStart[outDim]); // padding entries stay column 0, value 0
  const vals = new Int8Array(rowStart[outDim]);
  const next = rowStart.slice(0, outDim);
  for (let k = 0; k < flat.length; k++) {
    if (values[k] === 0) continue;
    const o = flat[k] % outDim;
    cols[next[o]] = Math.floor(flat[k] / outDim);
    vals[next[o]++] = values[k];
  }
  return { inDim, outDim, rowStart, cols, vals, scale, nonZeros };
}

/** The layout of a dense int8 W [inDim, outDim] (its zeros skipped). */
export function layoutFromDense(q: Int8Array, inDim: number, outDim: number, scale: Float32Array): SparseLayout {
  if (q.length !== inDim * outDim) throw new Error(`sparse kernel: ${q.length} weights for a [${inDim}, ${outDim}] matrix`);
  const flat: number[] = [];
  const values: number[] = [];
  for (let f = 0; f < q.length; f++) {
    if (q[f] !== 0) {
      flat.push(f);
      values.push(q[f]);
    }
  }
  return layoutFromEntries(inDim, outDim, flat, values, scale);
}

/** Row stride of a token-minor activation: tokens rounded up to 8 (the kernels' vector width in int16). */
export const strideOf = (tokens: number): number => Math.ceil(tokens / 8) * 8;

/** A weight on the kernel's heap. */
export interface KernelWeight {
  inDim: number;
  outDim: number;
  nonZeros: number;
  rowStart: number;
  cols: number;
  vals: number;
  scale: number;
  /** Output rows of each thread: thread t computes rows split[t] .. split[t + 1] (balanced by entries). */
  split: number[];
}

/** A token-minor activation [features, ld] of float32 on the heap. */
export interface KernelActivation {
  features: number;
  tokens: number;
  ld: number;
  ptr: number;
}

export type KernelMode = 'f32' | 'i8';

interface KernelExports {
  spmm_f32(rowStart: number, cols: number, vals: number, scale: number, x: number, y: number, o0: number, o1: number, ld: number): void;
  spmm_i8(rowStart: number, cols: number, vals: number, scale: number, xScale: number, x: number, y: number, o0: number, o1: number, ld: number): void;
  abs_max(x: number, n: number): number;
  quantize_i8(x: number, q: number, n: number, invScale: number): void;
}

const PAGE = 65536;
/** Allocations start above the linker's default stack area (the kernel uses no stack, but stay clear). */
const HEAP_START = 2 * PAGE;
const MAX_PAGES = 32768; // 2 GiB

// Control block shared with the workers (Int32 slots): a generation counter they wait on, the count
// of workers done, the call (function and pointers), then each worker's row range.
const C = { gen: 0, done: 1, fn: 2, rowStart: 3, cols: 4, vals: 5, scale: 6, x: 7, y: 8, ld: 9, xScale: 10, ranges: 16 } as const;
const FN = { stop: -1, f32: 0, i8: 1 } as const;

// The worker: its own instance of the module over the shared heap; waits for a new generation,
// computes its rows, counts itself done.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, index } = workerData;
const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
const c = new Int32Array(control), f = new Float32Array(control);
let gen = 0;
for (;;) {
  Atomics.wait(c, ${C.gen}, gen);
  gen = Atomics.load(c, ${C.gen});
  const fn = c[${C.fn}];
  if (fn === ${FN.stop}) break;
  const o0 = c[${C.ranges} + 2 * index], o1 = c[${C.ranges} + 2 * index + 1];
  if (fn === ${FN.f32}) k.spmm_f32(c[${C.rowStart}], c[${C.cols}], c[${C.vals}], c[${C.scale}], c[${C.x}], c[${C.y}], o0, o1, c[${C.ld}]);
  else k.spmm_i8(c[${C.rowStart}], c[${C.cols}], c[${C.vals}], c[${C.scale}], f[${C.xScale}], c[${C.x}], c[${C.y}], o0, o1, c[${C.ld}]);
  Atomics.add(c, ${C.done}, 1);
  Atomics.notify(c, ${C.done});
}
`;

interface WorkerLike {
  terminate(): Promise<number>;
  unref(): void;
}

export class SparseKernel {
  private top = HEAP_START;
  private quantScratch = { ptr: 0, bytes: 0 };

  private constructor(
    readonly memory: WebAssembly.Memory,
    private readonly k: KernelExports,
    readonly threads: number,
    private readonly control: Int32Array,
    private readonly workers: WorkerLike[],
  ) {}

  /** Instantiates the kernel; `threads` > 1 starts threads - 1 workers (Node only) on the same heap. */
  static async create(threads = 1): Promise<SparseKernel> {
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`sparse kernel: threads must be a positive integer, got ${threads}`);
    const module = await WebAssembly.compile(Uint8Array.from(atob(SPARSE_KERNEL_WASM_BASE64), (c) => c.charCodeAt(0)));
    const memory = new WebAssembly.Memory({ initial: HEAP_START / PAGE + 1, maximum: MAX_PAGES, shared: true });
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const control = new Int32Array(new SharedArrayBuffer(4 * (C.ranges + 2 * threads)));
    const workers: WorkerLike[] = [];
    if (threads > 1) {
      const { Worker } = await import('node:worker_threads');
      for (let index = 0; index < threads - 1; index++) {
        const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, control: control.buffer, index } });
        w.unref();
        workers.push(w);
      }
    }
    return new SparseKernel(memory, instance.exports as unknown as KernelExports, threads, control, workers);
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    if (!this.workers.length) return;
    Atomics.store(this.control, C.fn, FN.stop);
    Atomics.add(this.control, C.gen, 1);
    Atomics.notify(this.control, C.gen);
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }

  /** `bytes` of the heap, 16-byte aligned, growing it as needed (allocations live as long as the kernel). */
  alloc(bytes: number): number {
    const ptr = this.top;
    this.top = Math.ceil((ptr + bytes) / 16) * 16;
    const need = Math.ceil(this.top / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (need > 0) {
      if (this.top > MAX_PAGES * PAGE) throw new Error(`sparse kernel: the heap would exceed ${MAX_PAGES * PAGE} bytes`);
      this.memory.grow(need);
    }
    return ptr;
  }

  /** Copies a weight onto the heap, its rows split over the threads by entry count. */
  upload(l: SparseLayout): KernelWeight {
    const put = <T extends Uint32Array | Uint16Array | Int8Array | Float32Array>(a: T): number => {
      const ptr = this.alloc(a.byteLength);
      new Uint8Array(this.memory.buffer, ptr, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      return ptr;
    };
    const split = [0];
    const total = l.rowStart[l.outDim];
    for (let t = 1, o = 0; t < this.threads; t++) {
      while (o < l.outDim && l.rowStart[o] < (total * t) / this.threads) o++;
      split.push(o);
    }
    split.push(l.outDim);
    return {
      inDim: l.inDim,
      outDim: l.outDim,
      nonZeros: l.nonZeros,
      rowStart: put(l.rowStart),
      cols: put(l.cols),
      vals: put(l.vals),
      scale: put(l.scale),
      split,
    };
  }

  /** A zeroed [features, strideOf(tokens)] activation on the heap. */
  activation(features: number, tokens: number): KernelActivation {
    const ld = strideOf(tokens);
    const ptr = this.alloc(4 * features * ld);
    this.f32(ptr, features * ld).fill(0);
    return { features, tokens, ld, ptr };
  }

  /** A float32 view of the heap (views die when the heap grows: take a new one after alloc). */
  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, n);
  }

  /** Writes x [tokens, features] (row-major, the usual layout) into a token-minor activation. */
  write(a: KernelActivation, x: Float32Array): void {
    if (x.length !== a.tokens * a.features) throw new Error(`sparse kernel: ${x.length} values for [${a.tokens}, ${a.features}]`);
    const v = this.f32(a.ptr, a.features * a.ld);
    for (let t = 0; t < a.tokens; t++) for (let i = 0; i < a.features; i++) v[i * a.ld + t] = x[t * a.features + i];
  }

  /** Reads a token-minor activation back as [tokens, features]. */
  read(a: KernelActivation): Float32Array {
    const v = this.f32(a.ptr, a.features * a.ld);
    const out = new Float32Array(a.tokens * a.features);
    for (let t = 0; t < a.tokens; t++) for (let i = 0; i < a.features; i++) out[t * a.features + i] = v[i * a.ld + t];
    return out;
  }

  /**
   * y = x . W (dequantized): 'f32' multiplies float activations by the int8 weights; 'i8' first
   * quantizes x to int8 (symmetric, one scale for the tensor: max |x| / 127, as a dynamic
   * quantization) and multiplies integers.
   */
  linear(w: KernelWeight, x: KernelActivation, y: KernelActivation, mode: KernelMode = 'f32'): void {
    if (x.features !== w.inDim || y.features !== w.outDim || x.ld !== y.ld) {
      throw new Error(`sparse kernel: [${w.inDim} -> ${w.outDim}] weight, input [${x.features}, ${x.ld}], output [${y.features}, ${y.ld}]`);
    }
    let xPtr = x.ptr;
    let xScale = 1;
    if (mode === 'i8') {
      const n = x.features * x.ld;
      if (this.quantScratch.bytes < 2 * n) this.quantScratch = { ptr: this.alloc(2 * n), bytes: 2 * n };
      const max = this.k.abs_max(x.ptr, n);
      xScale = max > 0 ? max / 127 : 1;
      this.k.quantize_i8(x.ptr, this.quantScratch.ptr, n, 1 / xScale);
      xPtr = this.quantScratch.ptr;
    }
    const c = this.control;
    if (this.workers.length) {
      c[C.fn] = mode === 'f32' ? FN.f32 : FN.i8;
      c.set([w.rowStart, w.cols, w.vals, w.scale, xPtr, y.ptr, x.ld], C.rowStart);
      new Float32Array(c.buffer)[C.xScale] = xScale;
      for (let t = 1; t < this.threads; t++) c.set([w.split[t], w.split[t + 1]], C.ranges + 2 * (t - 1));
      Atomics.store(c, C.done, 0);
      Atomics.add(c, C.gen, 1);
      Atomics.notify(c, C.gen);
    }
    const [o0, o1] = [w.split[0], w.split[1]];
    if (mode === 'f32') this.k.spmm_f32(w.rowStart, w.cols, w.vals, w.scale, xPtr, y.ptr, o0, o1, x.ld);
    else this.k.spmm_i8(w.rowStart, w.cols, w.vals, w.scale, xScale, xPtr, y.ptr, o0, o1, x.ld);
    for (let d; (d = Atomics.load(c, C.done)) < this.workers.length;) Atomics.wait(c, C.done, d);
  }
}
