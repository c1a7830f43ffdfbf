/**
 * Access to the ONNX protobuf messages (onnx-proto: a protobufjs static module of ONNX 1.10, IR 8)
 * and small helpers to build tensors, attributes and nodes. int64 fields decode as `Long`; use
 * `toNumber` on them. Raw tensor data is little-endian, as ONNX requires.
 */
import { endianness } from 'node:os';
import onnxPkg from 'onnx-proto';

// The package is CommonJS (`module.exports = { onnx }`), so only its default import is reliable;
// the import alias keeps both the value (message classes) and the namespace (ITensorProto, ...).
export import onnx = onnxPkg.onnx;

if (endianness() !== 'LE') throw new Error('prune-once ONNX export needs a little-endian host (ONNX raw_data is little-endian)');

export type Long = { low: number; high: number; unsigned: boolean; toNumber(): number };

/** A protobuf int64 (number or Long) as a JS number; throws beyond 2^53 rather than losing digits. */
export function toNumber(v: number | Long | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  const n = v.toNumber();
  if (!Number.isSafeInteger(n)) throw new Error(`int64 value ${String(v)} does not fit a JS number`);
  return n;
}

/**
 * TensorProto.DataType codes, including those added after IR 8 (float8, 4-bit) so that
 * inspection can name them in newer files even though onnx-proto's enum stops at BFLOAT16.
 */
export const DT = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
} as const;

interface DtypeInfo {
  name: string;
  /** Bits per element (0 for strings). */
  bits: number;
  float: boolean;
}

const DTYPES: Record<number, DtypeInfo> = {
  [DT.FLOAT]: { name: 'float32', bits: 32, float: true },
  [DT.UINT8]: { name: 'uint8', bits: 8, float: false },
  [DT.INT8]: { name: 'int8', bits: 8, float: false },
  [DT.UINT16]: { name: 'uint16', bits: 16, float: false },
  [DT.INT16]: { name: 'int16', bits: 16, float: false },
  [DT.INT32]: { name: 'int32', bits: 32, float: false },
  [DT.INT64]: { name: 'int64', bits: 64, float: false },
  [DT.STRING]: { name: 'string', bits: 0, float: false },
  [DT.BOOL]: { name: 'bool', bits: 8, float: false },
  [DT.FLOAT16]: { name: 'float16', bits: 16, float: true },
  [DT.DOUBLE]: { name: 'float64', bits: 64, float: true },
  [DT.UINT32]: { name: 'uint32', bits: 32, float: false },
  [DT.UINT64]: { name: 'uint64', bits: 64, float: false },
  [DT.COMPLEX64]: { name: 'complex64', bits: 64, float: true },
  [DT.COMPLEX128]: { name: 'complex128', bits: 128, float: true },
  [DT.BFLOAT16]: { name: 'bfloat16', bits: 16, float: true },
  [DT.FLOAT8E4M3FN]: { name: 'float8e4m3fn', bits: 8, float: true },
  [DT.FLOAT8E4M3FNUZ]: { name: 'float8e4m3fnuz', bits: 8, float: true },
  [DT.FLOAT8E5M2]: { name: 'float8e5m2', bits: 8, float: true },
  [DT.FLOAT8E5M2FNUZ]: { name: 'float8e5m2fnuz', bits: 8, float: true },
  [DT.UINT4]: { name: 'uint4', bits: 4, float: false },
  [DT.INT4]: { name: 'int4', bits: 4, float: false },
  [DT.FLOAT4E2M1]: { name: 'float4e2m1', bits: 4, float: true },
};

export function dtypeInfo(code: number): DtypeInfo {
  return DTYPES[code] ?? { name: `dtype(${code})`, bits: 0, float: false };
}

export const dtypeName = (code: number): string => dtypeInfo(code).name;

export function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Copies a typed array's bytes (little-endian on this host). */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

export function rawTensor(name: string, dataType: number, dims: readonly number[], raw: Uint8Array): onnx.ITensorProto {
  return { name, dataType, dims: [...dims], rawData: raw };
}

export const floatTensor = (name: string, dims: readonly number[], data: Float32Array): onnx.ITensorProto => rawTensor(name, DT.FLOAT, dims, bytesOf(data));

export const int8Tensor = (name: string, dims: readonly number[], data: Int8Array): onnx.ITensorProto => rawTensor(name, DT.INT8, dims, bytesOf(data));

export const uint8Tensor = (name: string, dims: readonly number[], data: Uint8Array): onnx.ITensorProto => rawTensor(name, DT.UINT8, dims, bytesOf(data));

export const int64Tensor = (name: string, dims: readonly number[], values: readonly number[]): onnx.ITensorProto =>
  rawTensor(name, DT.INT64, dims, bytesOf(BigInt64Array.from(values.map((v) => BigInt(v)))));

type AttrValue = number | number[] | string | { float: number };

/**
 * An attribute from a plain value: integers -> INT, `{ float: x }` -> FLOAT (so that 1.0 is not
 * mistaken for an int), number[] -> INTS, string -> STRING.
 */
export function attribute(name: string, v: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (typeof v === 'object') return { name, type: T.FLOAT, f: v.float };
  if (!Number.isInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer; pass { float: ${v} }`);
  return { name, type: T.INT, i: v };
}

export type Attrs = Record<string, AttrValue>;

export function encodeModel(model: onnx.IModelProto): Uint8Array {
  const err = onnx.ModelProto.verify(model);
  if (err) throw new Error(`internal error: invalid ModelProto (${err})`);
  return onnx.ModelProto.encode(model).finish();
}

/** Attribute value as a plain JS value (INT/FLOAT/STRING/INTS/FLOATS; others as undefined). */
export function attrValue(a: onnx.IAttributeProto): number | string | number[] | undefined {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.INT:
      return toNumber(a.i as number | Long);
    case T.FLOAT:
      return a.f ?? 0;
    case T.STRING:
      return new TextDecoder().decode(a.s ?? new Uint8Array());
    case T.INTS:
      return (a.ints ?? []).map((x) => toNumber(x as number | Long));
    case T.FLOATS:
      return [...(a.floats ?? [])];
    default:
      return undefined;
  }
}

export function getAttr(node: onnx.INodeProto, name: string): number | string | number[] | undefined {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  return a ? attrValue(a) : undefined;
}
