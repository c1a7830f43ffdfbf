import { describe, expect, it } from 'vitest';
import { countNonZeros, sparsityTotals, zeroFraction } from '../../src/model/sparsity.js';

describe('sparsity as the project counts it', () => {
  it('counts exact zeros only (both signs), NaN as non-zero', () => {
    const d = Float32Array.from([0, -0, 1e-40, NaN, 3, 0]);
    expect(countNonZeros(d)).toBe(3);
    expect(zeroFraction(d.length, countNonZeros(d))).toBe(0.5);
    expect(countNonZeros(Uint8Array.from([1, 0, 1]))).toBe(2);
  });

  it('gives an empty tensor sparsity 0, so totals never turn into NaN', () => {
    expect(zeroFraction(0, 0)).toBe(0);
    expect(sparsityTotals([])).toEqual({ params: 0, nonZeros: 0, sparsity: 0 });
  });

  it('sums parameters and non-zeros before dividing (not a mean of per-tensor sparsities)', () => {
    const tensors = [Float32Array.from([0, 0, 0, 0, 0, 0, 1, 2]), Float32Array.from([5, 0]), new Float32Array(0)];
    const total = sparsityTotals(tensors.map((t) => ({ params: t.length, nonZeros: countNonZeros(t) })));
    expect(total).toEqual({ params: 10, nonZeros: 3, sparsity: 0.7 });
  });
});
