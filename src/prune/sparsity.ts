/**
 * Counting zeros: what the reports and the pruner's logs say a model's sparsity is. Only exact
 * zeros count as pruned (+0 and -0); NaN counts as non-zero. An empty tensor has sparsity 0 so
 * that totals never turn into NaN.
 */
import { countNonZeros } from '../model/sparsity.js';
import type { WeightMap } from './masks.js';

export interface TensorSparsity {
  name: string;
  shape: number[];
  params: number;
  nonZeros: number;
  sparsity: number;
}

export interface SparsityTotals {
  params: number;
  nonZeros: number;
  sparsity: number;
}

export interface SparsityReport {
  tensors: TensorSparsity[];
  total: SparsityTotals;
}

// Counting non-zeros is said once, in src/model/sparsity.ts.
export { countNonZeros };

function ratio(params: number, nonZeros: number): number {
  return params === 0 ? 0 : (params - nonZeros) / params;
}

/** Fraction of entries that are exactly zero. */
export function sparsityOf(data: ArrayLike<number>): number {
  return ratio(data.length, countNonZeros(data));
}

/** Per-tensor and total sparsity of named weights, in the Map's order. */
export function sparsityReport(weights: WeightMap): SparsityReport {
  const tensors: TensorSparsity[] = [];
  let params = 0;
  let nonZeros = 0;
  for (const [name, w] of weights) {
    const nz = countNonZeros(w.data);
    tensors.push({ name, shape: [...w.shape], params: w.data.length, nonZeros: nz, sparsity: ratio(w.data.length, nz) });
    params += w.data.length;
    nonZeros += nz;
  }
  return { tensors, total: { params, nonZeros, sparsity: ratio(params, nonZeros) } };
}
