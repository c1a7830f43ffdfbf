/**
 * How the exporter stores one integer weight, chosen per tensor by size:
 *
 * - 'compact' (the default): the smallest of dense, packed mask, gap encoding and, when every
 *   integer fits [-8, 7] (4-bit tables), nibbles (compact.ts), all decoded by standard opset-17
 *   ops; ties go to dense (nothing to decode), then mask, gaps, nibbles.
 * - 'sparse-initializer': the smallest of dense and a COO `sparse_initializer` with the smallest
 *   index type (sparse.ts). ONNX Runtime only: `onnx.checker` accepts only int64 indices, and its
 *   full check rejects any sparse initializer that feeds DequantizeLinear.
 * - 'sparse-initializer-int64': the same with int64 indices only.
 * - 'dense': always dense.
 */
import { countNonZeros } from '../model/sparsity.js';
import {
  encodeGaps,
  encodeMask,
  encodeNibbles,
  fitsNibbles,
  gapEntries,
  gapsBytesFor,
  maskBytesFor,
  nibblesBytesFor,
  type CompactEncoded,
  type CompactEncoding,
  type IntValues,
} from './compact.js';
import { chooseStorage, type SparseFormat } from './sparse.js';

export type WeightStorage = 'compact' | 'sparse-initializer' | 'sparse-initializer-int64' | 'dense';
export const WEIGHT_STORAGES: readonly WeightStorage[] = ['compact', 'sparse-initializer', 'sparse-initializer-int64', 'dense'];

export type StorageKind = 'dense' | CompactEncoding | 'sparse';

export interface WeightStorageChoice {
  kind: StorageKind;
  nonZeros: number;
  /** Bytes of the chosen storage (values plus mask, gaps or indices). */
  bytes: number;
  denseBytes: number;
  /** Set for 'mask', 'gaps' and 'nibbles'. */
  encoded?: CompactEncoded;
  /** Set for 'sparse'. */
  format?: SparseFormat;
}

/** `name` names the tensor in errors. */
export function chooseWeightStorage(values: IntValues, shape: readonly number[], policy: WeightStorage = 'compact', name = 'weight'): WeightStorageChoice {
  const denseBytes = values.length;
  if (policy === 'sparse-initializer' || policy === 'sparse-initializer-int64' || policy === 'dense') {
    const c = chooseStorage(values, shape, policy === 'dense' ? 'off' : policy === 'sparse-initializer' ? 'auto' : 'auto-int64');
    return { kind: c.storage, nonZeros: c.nonZeros, bytes: c.bytes, denseBytes, ...(c.format ? { format: c.format } : {}) };
  }
  const nonZeros = countNonZeros(values);
  // Candidates in tie-break order; the first of the smallest wins.
  const sizes: Array<[StorageKind, number]> = [
    ['dense', denseBytes],
    ['mask', maskBytesFor(values.length, nonZeros)],
    ['gaps', gapsBytesFor(gapEntries(values))],
    ...(fitsNibbles(values) ? [['nibbles', nibblesBytesFor(values.length)] as [StorageKind, number]] : []),
  ];
  const [kind, bytes] = sizes.reduce((best, c) => (c[1] < best[1] ? c : best));
  if (kind === 'dense') return { kind, nonZeros, bytes, denseBytes };
  const encoded: CompactEncoded = kind === 'mask' ? encodeMask(values) : kind === 'gaps' ? encodeGaps(values) : encodeNibbles(name, values);
  return { kind, nonZeros, bytes, denseBytes, encoded };
}
