/**
 * Dense vs sparse storage of an integer weight. A `SparseTensorProto` stores the non-zero values
 * plus their indices, either linearized ([NNZ], one flat index each) or COO ([NNZ, rank], one index
 * per dimension), in the smallest integer type that holds them. ONNX Runtime densifies sparse
 * initializers when it creates a session: sparse storage saves disk and download, not compute.
 *
 * Checked: onnxruntime-node 1.22 loads int8/int16/int32/int64 indices in both layouts
 * (test/onnx/sparse.test.ts). The reference `onnx.checker` (python3-onnx 1.12) accepts only int64
 * indices, and its full (shape-inference) check rejects any sparse initializer that feeds
 * DequantizeLinear (it types it as sparse_tensor); policy 'auto-int64' passes the structural check
 * at 9 bytes per non-zero instead of 3-5.
 */
import { countNonZeros } from '../model/sparsity.js';
import { bytesOf, DT, type onnx } from './proto.js';

export type IndexDtype = 'int8' | 'int16' | 'int32' | 'int64';
export type SparseLayout = 'linear' | 'coo';

export interface SparseFormat {
  layout: SparseLayout;
  indexDtype: IndexDtype;
}

export interface StorageChoice {
  storage: 'dense' | 'sparse';
  /** Set when storage is 'sparse'. */
  format?: SparseFormat;
  nonZeros: number;
  /** Bytes of the chosen storage: values, plus indices when sparse. */
  bytes: number;
  /** Bytes of dense storage, for comparison. */
  denseBytes: number;
}

export type SparsePolicy =
  /** The smallest of dense and every sparse layout / index type (the default). */
  | 'auto'
  /** Like 'auto' but only int64 indices, the one index type `onnx.checker` accepts. */
  | 'auto-int64'
  /** Always dense. */
  | 'off';

const INDEX_BYTES: Record<IndexDtype, number> = { int8: 1, int16: 2, int32: 4, int64: 8 };
const INDEX_MAX: Record<IndexDtype, number> = { int8: 127, int16: 32767, int32: 2147483647, int64: Number.MAX_SAFE_INTEGER };
const INDEX_DT: Record<IndexDtype, number> = { int8: DT.INT8, int16: DT.INT16, int32: DT.INT32, int64: DT.INT64 };

export const indexDtypeCode = (t: IndexDtype): number => INDEX_DT[t];

/** The smallest index type holding values up to `max`. */
export function smallestIndexDtype(max: number, allowed: readonly IndexDtype[] = ['int8', 'int16', 'int32', 'int64']): IndexDtype {
  const t = allowed.find((d) => max <= INDEX_MAX[d]);
  if (!t) throw new Error(`index ${max} does not fit any of ${allowed.join(', ')}`);
  return t;
}

/** Bytes of one sparse format for `nnz` non-zeros of 1-byte values in a tensor of `shape`. */
export function sparseBytes(nnz: number, shape: readonly number[], f: SparseFormat): number {
  const perIndex = INDEX_BYTES[f.indexDtype] * (f.layout === 'coo' ? shape.length : 1);
  return nnz * (1 + perIndex);
}

/** The sparse formats that can hold a tensor of this shape (smallest index type per layout). */
export function candidateFormats(shape: readonly number[], policy: SparsePolicy = 'auto'): SparseFormat[] {
  const allowed: IndexDtype[] = policy === 'auto-int64' ? ['int64'] : ['int8', 'int16', 'int32', 'int64'];
  const numel = shape.reduce((a, b) => a * b, 1);
  const maxDim = Math.max(1, ...shape);
  return [
    { layout: 'linear', indexDtype: smallestIndexDtype(Math.max(0, numel - 1), allowed) },
    { layout: 'coo', indexDtype: smallestIndexDtype(Math.max(0, maxDim - 1), allowed) },
  ];
}

/**
 * Dense or sparse, whichever takes fewer bytes; ties go to dense (it needs no densifying), and
 * between sparse layouts ties go to linear (fewer index bytes to parse).
 */
export function chooseStorage(values: Int8Array | Uint8Array, shape: readonly number[], policy: SparsePolicy = 'auto'): StorageChoice {
  const nonZeros = countNonZeros(values);
  const denseBytes = values.length;
  let best: StorageChoice = { storage: 'dense', nonZeros, bytes: denseBytes, denseBytes };
  if (policy === 'off' || shape.length === 0) return best;
  for (const format of candidateFormats(shape, policy)) {
    const bytes = sparseBytes(nonZeros, shape, format);
    if (bytes < best.bytes) best = { storage: 'sparse', format, nonZeros, bytes, denseBytes };
  }
  return best;
}

function typedIndices(t: IndexDtype, n: number): Int8Array | Int16Array | Int32Array | BigInt64Array {
  if (t === 'int8') return new Int8Array(n);
  if (t === 'int16') return new Int16Array(n);
  if (t === 'int32') return new Int32Array(n);
  return new BigInt64Array(n);
}

/**
 * A SparseTensorProto named `name` holding the non-zeros of a row-major int8/uint8 tensor, indices
 * ascending and unique (row-major order is also COO's lexicographic order).
 */
export function sparseTensor(
  name: string,
  dataType: number,
  values: Int8Array | Uint8Array,
  shape: readonly number[],
  f: SparseFormat,
): onnx.ISparseTensorProto {
  const nnz = countNonZeros(values);
  const rank = shape.length;
  const perValue = f.layout === 'coo' ? rank : 1;
  const nz = values instanceof Int8Array ? new Int8Array(nnz) : new Uint8Array(nnz);
  const idx = typedIndices(f.indexDtype, nnz * perValue);
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const set =
    idx instanceof BigInt64Array
      ? (k: number, v: number) => {
          idx[k] = BigInt(v);
        }
      : (k: number, v: number) => {
          idx[k] = v;
        };
  let j = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] === 0) continue;
    nz[j] = values[i];
    if (f.layout === 'linear') set(j, i);
    else for (let d = 0; d < rank; d++) set(j * rank + d, Math.floor(i / strides[d]) % shape[d]);
    j++;
  }
  return {
    values: { name, dataType, dims: [nnz], rawData: bytesOf(nz) },
    indices: { name: `${name}/indices`, dataType: INDEX_DT[f.indexDtype], dims: f.layout === 'coo' ? [nnz, rank] : [nnz], rawData: bytesOf(idx) },
    dims: [...shape],
  };
}
