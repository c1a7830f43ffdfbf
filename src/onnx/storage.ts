/**
 * How the exporter stores one integer weight, chosen per tensor by size:
 *
 * - 'compact' (the default): the smallest of dense, packed mask and gap encoding (compact.ts),
 *   all in standard opset-17 ops; ties go to dense (nothing to decode), then mask.
 * - 'sparse-initializer': the smallest of dense and a COO `sparse_initializer` with the smallest
 *   index type (sparse.ts). ONNX Runtime only: `onnx.checker` accepts only int64 indices, and its
 *   full check rejects any sparse initializer that feeds DequantizeLinear.
 * - 'sparse-initializer-int64': the same with int64 indices only.
 * - 'dense': always dense.
 */
import { countNonZeros } from '../model/sparsity.js';
import { encodeGaps, encodeMask, gapEntries, gapsBytesFor, maskBytesFor, type CompactEncoded, type IntValues } from './compact.js';
import { chooseStorage, type SparseFormat } from './sparse.js';

export type WeightStorage = 'compact' | 'sparse-initializer' | 'sparse-initializer-int64' | 'dense';
export const WEIGHT_STORAGES: readonly WeightStorage[] = ['compact', 'sparse-initializer', 'sparse-initializer-int64', 'dense'];

export type StorageKind = 'dense' | 'mask' | 'gaps' | 'sparse';

export interface WeightStorageChoice {
  kind: StorageKind;
  nonZeros: number;
  /** Bytes of the chosen storage (values plus mask, gaps or indices). */
  bytes: number;
  denseBytes: number;
  /** Set for 'mask' and 'gaps'. */
  encoded?: CompactEncoded;
  /** Set for 'sparse'. */
  format?: SparseFormat;
}

export function chooseWeightStorage(values: IntValues, shape: readonly number[], policy: WeightStorage = 'compact'): WeightStorageChoice {
  const denseBytes = values.length;
  if (policy === 'sparse-initializer' || policy === 'sparse-initializer-int64' || policy === 'dense') {
    const c = chooseStorage(values, shape, policy === 'dense' ? 'off' : policy === 'sparse-initializer' ? 'auto' : 'auto-int64');
    return { kind: c.storage, nonZeros: c.nonZeros, bytes: c.bytes, denseBytes, ...(c.format ? { format: c.format } : {}) };
  }
  const nonZeros = countNonZeros(values);
  const mask = maskBytesFor(values.length, nonZeros);
  const gaps = gapsBytesFor(gapEntries(values));
  if (denseBytes <= mask && denseBytes <= gaps) return { kind: 'dense', nonZeros, bytes: denseBytes, denseBytes };
  const encoded = mask <= gaps ? encodeMask(values) : encodeGaps(values);
  return { kind: encoded.encoding, nonZeros, bytes: Math.min(mask, gaps), denseBytes, encoded };
}
