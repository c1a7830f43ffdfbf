import { describe, expect, it } from 'vitest';
import { countNonZeros, sparsityOf, sparsityReport } from '../../src/prune/sparsity.js';

describe('sparsity', () => {
  it('counts exact zeros only (both signs), NaN as non-zero', () => {
    const d = Float32Array.from([0, -0, 1e-40, NaN, 3, 0]);
    expect(countNonZeros(d)).toBe(3);
    expect(sparsityOf(d)).toBe(0.5);
    expect(countNonZeros(Uint8Array.from([1, 0, 1]))).toBe(2);
    expect(sparsityOf(new Float32Array(0))).toBe(0);
  });

  it('reports per tensor and in total', () => {
    const report = sparsityReport(
      new Map([
        ['q', { shape: [2, 4], data: Float32Array.from([0, 0, 0, 0, 0, 0, 1, 2]) }],
        ['v', { shape: [2], data: Float32Array.from([5, 0]) }],
        ['empty', { shape: [0, 3], data: new Float32Array(0) }],
      ]),
    );
    expect(report.tensors).toEqual([
      { name: 'q', shape: [2, 4], params: 8, nonZeros: 2, sparsity: 0.75 },
      { name: 'v', shape: [2], params: 2, nonZeros: 1, sparsity: 0.5 },
      { name: 'empty', shape: [0, 3], params: 0, nonZeros: 0, sparsity: 0 },
    ]);
    expect(report.total).toEqual({ params: 10, nonZeros: 3, sparsity: 0.7 });
  });
});
