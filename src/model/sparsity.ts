/**
 * Sparsity as this project counts it: only exact zeros (+0 and -0) are pruned, NaN is a non-zero,
 * and sparsity is the zero fraction `1 - nonZeros / params` (0 for no parameters, so totals never
 * turn into NaN). The report, the ONNX metadata and the pruner's logs should all say it this way.
 */

/** Number of entries that are not exactly zero (weights and masks alike). */
export function countNonZeros(data: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) n++;
  return n;
}

export interface SparsityTotals {
  params: number;
  nonZeros: number;
  sparsity: number;
}

/** Zero fraction of `params` entries of which `nonZeros` are not zero. */
export function zeroFraction(params: number, nonZeros: number): number {
  return params ? 1 - nonZeros / params : 0;
}

/** Summed parameters and non-zeros of some tensors, and their zero fraction. */
export function sparsityTotals(tensors: Iterable<{ params: number; nonZeros: number }>): SparsityTotals {
  let params = 0;
  let nonZeros = 0;
  for (const t of tensors) {
    params += t.params;
    nonZeros += t.nonZeros;
  }
  return { params, nonZeros, sparsity: zeroFraction(params, nonZeros) };
}
