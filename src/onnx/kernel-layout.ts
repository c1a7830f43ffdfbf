/**
 * From what the exporter stores to what the sparse kernel reads: an int8 MatMul weight [in, out]
 * (dense, or compact: mask / gaps / nibbles) to the kernel's layout by output row
 * (src/backend/sparse/spmm.ts), at load time. The compact parts are decoded (and checked) by the
 * same decoders `inspect` uses; the dense copy lives only during the conversion.
 */
import { layoutFromDense, type SparseLayout } from '../backend/sparse/spmm.js';
import { CompactEncodingError, decodeCompact, type CompactEncoded, type IntValues } from './compact.js';

export function kernelLayoutOf(tensor: string, shape: readonly number[], stored: CompactEncoded | IntValues, scale: Float32Array): SparseLayout {
  if (shape.length !== 2) throw new CompactEncodingError(tensor, `the sparse kernel takes a 2-D MatMul weight [in, out], got shape [${shape.join(', ')}]`);
  const values = ArrayBuffer.isView(stored) ? stored : decodeCompact(tensor, shape, stored);
  if (!(values instanceof Int8Array)) {
    throw new CompactEncodingError(tensor, 'the sparse kernel takes int8 weights (zero point 0); this one is uint8: export it with int8 weights');
  }
  return layoutFromDense(values, shape[0], shape[1], scale);
}
