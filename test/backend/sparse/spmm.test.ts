import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layoutBytes, layoutFromDense, SparseKernel, type KernelMode } from '../../../src/backend/sparse/spmm.js';
import { Rng } from '../../../src/util/rng.js';

/** A random int8 weight [inDim, outDim] at `sparsity`, with the edge cases the kernel must meet. */
function randomWeight(rng: Rng, inDim: number, outDim: number, sparsity: number): Int8Array {
  const q = new Int8Array(inDim * outDim);
  for (let f = 0; f < q.length; f++) if (rng.next() >= sparsity) q[f] = rng.int(255) - 127 || 1;
  for (let i = 0; i < inDim; i++) {
    q[i * outDim + 0] = 0; // output 0: an empty row
    q[i * outDim + 1] = rng.int(255) - 127 || 1; // output 1: fully dense
    q[i * outDim + 2] = i === inDim - 1 ? -127 : 0; // output 2: one entry (odd: padded), the last column
  }
  return q;
}

const randomScale = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => 0.001 + 0.01 * rng.next());
const randomX = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.normal());

/** y [tokens, out] = x [tokens, in] . (q * scale), in float64. */
function reference(x: Float32Array, tokens: number, q: Int8Array, inDim: number, outDim: number, scale: Float32Array): Float64Array {
  const y = new Float64Array(tokens * outDim);
  for (let t = 0; t < tokens; t++)
    for (let i = 0; i < inDim; i++) {
      const xv = x[t * inDim + i];
      for (let o = 0; o < outDim; o++) y[t * outDim + o] += xv * q[i * outDim + o] * scale[o];
    }
  return y;
}

/** x rounded as the 'i8' mode quantizes it: symmetric, one scale max|x| / 127, ties to even. */
function quantizedInput(x: Float32Array): Float32Array {
  const max = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const s = Math.fround(max / 127);
  const inv = Math.fround(1 / s);
  const roundEven = (v: number) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));
  return x.map((v) => Math.max(-127, Math.min(127, roundEven(Math.fround(v * inv)))) * s);
}

function maxRelError(got: Float32Array, want: Float64Array): number {
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  let err = 0;
  for (let k = 0; k < want.length; k++) err = Math.max(err, Math.abs(got[k] - want[k]));
  return err / scale;
}

describe('sparse int8 kernel (wasm SIMD128)', () => {
  let one: SparseKernel;
  let two: SparseKernel;
  beforeAll(async () => {
    one = await SparseKernel.create(1);
    two = await SparseKernel.create(2);
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
  });

  const cases: Array<[string, number, number, number, number]> = [
    // name, tokens, in, out, sparsity
    ['odd token count (not a multiple of 4 or 8), 90% sparse', 13, 96, 40, 0.9],
    ['one token', 1, 64, 24, 0.5],
    ['32-token blocks plus a remainder', 45, 128, 33, 0.9],
    ['a dense weight', 40, 48, 16, 0],
  ];
  for (const mode of ['f32', 'i8'] as KernelMode[]) {
    for (const [name, tokens, inDim, outDim, sparsity] of cases) {
      it(`${mode}: ${name} (empty, single-entry and dense rows) matches the float64 reference on 1 and 2 threads`, () => {
        const rng = new Rng(tokens * 1000 + inDim);
        const q = randomWeight(rng, inDim, outDim, sparsity);
        const scale = randomScale(rng, outDim);
        const x = randomX(rng, tokens * inDim);
        const want = reference(mode === 'i8' ? quantizedInput(x) : x, tokens, q, inDim, outDim, scale);
        const layout = layoutFromDense(q, inDim, outDim, scale);
        expect(layout.nonZeros).toBe(q.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0));
        expect(layoutBytes(layout)).toBe(3 * layout.rowStart[outDim] + 8 * outDim + 4);
        for (const kernel of [one, two]) {
          const w = kernel.upload(layout);
          const xa = kernel.activation(inDim, tokens);
          const ya = kernel.activation(outDim, tokens);
          kernel.write(xa, x);
          kernel.linear(w, xa, ya, mode);
          const got = kernel.read(ya);
          // f32: float32 sums in another order; i8: exact integer sums, one float rounding.
          expect(maxRelError(got, want)).toBeLessThan(mode === 'f32' ? 1e-5 : 1e-6);
          for (let t = 0; t < tokens; t++) expect(got[t * outDim]).toBe(0); // the empty row
        }
      });
    }
  }

  it('splits rows over the threads by entries: both halves hold about the same work', () => {
    const rng = new Rng(7);
    const q = randomWeight(rng, 64, 100, 0.9);
    const layout = layoutFromDense(q, 64, 100, randomScale(rng, 100));
    const w = two.upload(layout);
    expect(w.split[0]).toBe(0);
    expect(w.split[2]).toBe(100);
    const first = layout.rowStart[w.split[1]];
    const total = layout.rowStart[100];
    expect(Math.abs(first - total / 2)).toBeLessThanOrEqual(64 + 1); // within one row (the dense row has 64)
  });
});
