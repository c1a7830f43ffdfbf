/**
 * Pruning methods: *how* to choose which weights to zero. A mask function maps named weights and a
 * target sparsity to one mask per weight (1 = keep, 0 = pruned). Mask functions are pure: they
 * never modify their inputs, and equal inputs give equal masks.
 *
 * Tie-breaking (so counts are exact and runs reproducible): entries are ordered by score, compared
 * as float32; among equal scores the lower flat index is pruned first, and for `global-magnitude`
 * the tensor that comes first in the Map's iteration order before that. For `block` the unit is
 * the block, indexed row-major over the block grid. NaN scores order above +Infinity (kept).
 *
 * Pruned counts are exactly floor(target * n) (n = entries, or blocks), computed so that a product
 * like 0.57 * 100 = 56.99999999999999 still counts as 57.
 */
import { Registry } from '../util/registry.js';

export interface WeightTensor {
  shape: readonly number[];
  data: Float32Array;
}

export type WeightMap = ReadonlyMap<string, WeightTensor>;
export type MaskMap = Map<string, Uint8Array>;

export interface MaskOptions {
  /** Block shape [rows, cols] over a 2-D [in, out] kernel; required by `block`. */
  block?: readonly number[];
}

export type MaskFn = (weights: WeightMap, target: number, opts?: MaskOptions) => MaskMap;

// ---------------------------------------------------------------------------------------------
// Checks

function checkTarget(target: number): void {
  if (typeof target !== 'number' || !(target >= 0 && target <= 1)) {
    throw new Error(`target sparsity must be a number in [0, 1]; got ${target}`);
  }
}

function checkTensor(name: string, w: WeightTensor): void {
  const n = w.shape.reduce((a, b) => a * b, 1);
  if (n !== w.data.length) {
    throw new Error(`weight '${name}': shape [${w.shape.join(', ')}] has ${n} entries but data has ${w.data.length}`);
  }
}

/** floor(target * n), snapping products within rounding error of an integer to that integer. */
export function pruneCount(target: number, n: number): number {
  const x = target * n;
  const r = Math.round(x);
  return Math.abs(x - r) <= 1e-9 * Math.max(1, x) ? r : Math.floor(x);
}

// ---------------------------------------------------------------------------------------------
// Exact selection of the k smallest |x|

const ABS = 0x7fffffff;

/** First bin at which the running count reaches k, and the count strictly before it. */
function locate(hist: Uint32Array, k: number): { bin: number; before: number } {
  let before = 0;
  for (let bin = 0; bin < hist.length; bin++) {
    if (before + hist[bin] >= k) return { bin, before };
    before += hist[bin];
  }
  throw new Error(`selection out of range: k = ${k} exceeds ${before} entries`);
}

/**
 * Masks pruning exactly the k smallest |x| over `arrays` taken together, ties to the earliest
 * (array position, then index).
 *
 * Why not sort: for non-negative IEEE-754 floats the bit pattern read as uint32 grows with the
 * value, so a radix select over |x|'s bits (15 high bits, then 16 low bits) finds the exact k-th
 * smallest in two O(n) histogram passes with no copy: ~25 ms for a 768x3072 kernel (a Float32Array
 * sort takes ~300 ms), and it scales to a global threshold over every encoder weight without
 * concatenating them.
 */
function pruneSmallest(arrays: readonly Float32Array[], k: number): Uint8Array[] {
  const masks = arrays.map((a) => new Uint8Array(a.length).fill(1));
  if (k <= 0) return masks;
  const views = arrays.map((a) => new Uint32Array(a.buffer, a.byteOffset, a.length));

  const hi = new Uint32Array(1 << 15);
  for (const v of views) for (let i = 0; i < v.length; i++) hi[(v[i] & ABS) >>> 16]++;
  const h = locate(hi, k);

  const lo = new Uint32Array(1 << 16);
  for (const v of views) {
    for (let i = 0; i < v.length; i++) {
      const key = v[i] & ABS;
      if (key >>> 16 === h.bin) lo[key & 0xffff]++;
    }
  }
  const l = locate(lo, k - h.before);

  const threshold = (h.bin << 16) | l.bin;
  let ties = k - h.before - l.before; // entries equal to the threshold that must go too
  views.forEach((v, a) => {
    const m = masks[a];
    for (let i = 0; i < v.length; i++) {
      const key = v[i] & ABS;
      if (key < threshold) m[i] = 0;
      else if (key === threshold && ties > 0) {
        m[i] = 0;
        ties--;
      }
    }
  });
  return masks;
}

// ---------------------------------------------------------------------------------------------
// Mask functions

/** Per tensor: prune exactly floor(target * n) smallest-magnitude entries of each. */
export const magnitudeMask: MaskFn = (weights, target) => {
  checkTarget(target);
  const out: MaskMap = new Map();
  for (const [name, w] of weights) {
    checkTensor(name, w);
    out.set(name, pruneSmallest([w.data], pruneCount(target, w.data.length))[0]);
  }
  return out;
};

/** One magnitude threshold across all given tensors: floor(target * total) pruned overall. */
export const globalMagnitudeMask: MaskFn = (weights, target) => {
  checkTarget(target);
  const names = [...weights.keys()];
  const datas = names.map((name) => {
    const w = weights.get(name)!;
    checkTensor(name, w);
    return w.data;
  });
  const total = datas.reduce((a, d) => a + d.length, 0);
  const masks = pruneSmallest(datas, pruneCount(target, total));
  return new Map(names.map((name, i) => [name, masks[i]]));
};

function checkBlock(block: readonly number[] | undefined): [number, number] {
  const ok = Array.isArray(block) && block.length === 2 && block.every((b) => Number.isInteger(b) && b >= 1);
  if (!ok) {
    throw new Error(`block pruning needs opts.block = [rows, cols] of positive integers; got ${JSON.stringify(block)}`);
  }
  return [block[0], block[1]];
}

/** L2 norm of every [br, bc] block of a row-major [rows, cols] kernel, row-major over the grid. */
function blockNorms(data: Float32Array, rows: number, cols: number, br: number, bc: number): Float32Array {
  const gridCols = cols / bc;
  const sums = new Float64Array((rows / br) * gridCols);
  for (let i = 0; i < rows; i++) {
    const base = ((i / br) | 0) * gridCols;
    for (let g = 0, off = i * cols; g < gridCols; g++) {
      let s = 0;
      for (let c = 0; c < bc; c++, off++) s += data[off] * data[off];
      sums[base + g] += s;
    }
  }
  // A plain loop: Float32Array.from(sums, Math.sqrt) is ~30x slower in V8.
  const norms = new Float32Array(sums.length);
  for (let b = 0; b < sums.length; b++) norms[b] = Math.sqrt(sums[b]);
  return norms;
}

/**
 * Per tensor, over a 2-D [in, out] kernel cut into `opts.block` = [rows, cols] blocks: zero exactly
 * floor(target * numBlocks) whole blocks with the smallest L2 norm (e.g. [1, 4] or [4, 1]).
 */
export const blockMask: MaskFn = (weights, target, opts) => {
  checkTarget(target);
  const [br, bc] = checkBlock(opts?.block);
  const out: MaskMap = new Map();
  for (const [name, w] of weights) {
    checkTensor(name, w);
    const [rows, cols] = w.shape;
    if (w.shape.length !== 2 || rows % br !== 0 || cols % bc !== 0) {
      throw new Error(
        `weight '${name}': shape [${w.shape.join(', ')}] cannot be cut into [${br}, ${bc}] blocks; ` +
          `block pruning needs a 2-D kernel whose dimensions are multiples of the block`,
      );
    }
    const norms = blockNorms(w.data, rows, cols, br, bc);
    const keepBlock = pruneSmallest([norms], pruneCount(target, norms.length))[0];
    const gridCols = cols / bc;
    const mask = new Uint8Array(w.data.length);
    for (let i = 0; i < rows; i++) {
      const base = ((i / br) | 0) * gridCols;
      for (let g = 0, off = i * cols; g < gridCols; g++) {
        const keep = keepBlock[base + g];
        for (let c = 0; c < bc; c++, off++) mask[off] = keep;
      }
    }
    out.set(name, mask);
  }
  return out;
};

/** Pattern lock's masks (pattern-lock.ts): keep exactly the non-zero weights. `target` is ignored. */
export const patternLockMask: MaskFn = (weights) => {
  const out: MaskMap = new Map();
  for (const [name, w] of weights) {
    checkTensor(name, w);
    const mask = new Uint8Array(w.data.length);
    for (let i = 0; i < mask.length; i++) mask[i] = w.data[i] !== 0 ? 1 : 0;
    out.set(name, mask);
  }
  return out;
};

/** Pruning methods by the names used in config files (`pruning.method`). */
export const maskRegistry = new Registry<MaskFn>('pruning method')
  .register('magnitude', magnitudeMask)
  .register('global-magnitude', globalMagnitudeMask)
  .register('block', blockMask);

/** A copy of `data` with the pruned entries (mask 0) set to +0. */
export function applyMask(data: Float32Array, mask: Uint8Array): Float32Array {
  if (data.length !== mask.length) {
    throw new Error(`mask length ${mask.length} does not match weight length ${data.length}`);
  }
  const out = new Float32Array(data.length);
  for (let i = 0; i < out.length; i++) out[i] = mask[i] ? data[i] : 0;
  return out;
}
