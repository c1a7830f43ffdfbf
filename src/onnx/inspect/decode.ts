/**
 * Reading an ONNX file's bytes: the ModelProto, every graph and subgraph, and each tensor's data
 * (where it lives, its bytes, its non-zeros), for dense, sparse and Constant-node tensors alike.
 */
import { zeroFraction } from '../../model/sparsity.js';
import { dtypeInfo, onnx, product, toNumber, type Long } from '../proto.js';
import type { CompactEncoding, IntValues } from '../compact.js';

export interface InitializerInfo {
  name: string;
  /** 'main', or the path of the subgraph that holds it (e.g. 'main/If_0.then_branch'). */
  graph: string;
  /** compact: a weight decoded in-graph from a mask or gaps initializer plus a values initializer, or from packed nibbles (compact-graph.ts). */
  kind: 'dense' | 'sparse' | 'constant' | 'compact';
  dtype: string;
  shape: number[];
  numel: number;
  /** Non-zero elements; null when the data is not in the file (external) or not numeric. */
  nonZeros: number | null;
  /** 1 - nonZeros / numel, or null. */
  sparsity: number | null;
  /** Data bytes: raw values (typed fields counted at their dtype's width), plus indices when sparse, plus the mask or gaps when compact. */
  bytes: number;
  /** Where the values live: raw_data, a typed field (float_data, int32_data, ...), or external. */
  location: string;
  sparse?: { layout: 'linear' | 'coo'; indexDtype: string; valueBytes: number; indexBytes: number };
  /** Set when kind is 'compact': the initializers it is decoded from (not listed on their own); nibbles have no index (indexBytes 0). */
  compact?: { encoding: CompactEncoding; index?: string; indexBytes: number; values: string; valueBytes: number };
  external?: Record<string, string>;
}

/** Decodes ONNX bytes; throws `<source>: not an ONNX model (...)` on anything else. */
export function decodeOnnx(bytes: Uint8Array, source = '<bytes>'): onnx.ModelProto {
  const fail = (why: string): never => {
    throw new Error(`${source}: not an ONNX model (${why})`);
  };
  if (bytes.length === 0) fail('empty file');
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    return fail(`protobuf decoding failed, the file is truncated or not a ModelProto: ${(e as Error).message}`);
  }
  if (toNumber(model.irVersion as number | Long) <= 0) fail('no ir_version');
  if (!model.graph) fail('no graph');
  return model;
}

export interface GraphCtx {
  path: string;
  graph: onnx.IGraphProto;
}

/** Every graph and subgraph (If/Loop/Scan bodies), depth first. */
export function allGraphs(g: onnx.IGraphProto, path: string, out: GraphCtx[] = []): GraphCtx[] {
  out.push({ path, graph: g });
  for (const [k, node] of (g.node ?? []).entries()) {
    for (const a of node.attribute ?? []) {
      const sub = [...(a.g ? [a.g] : []), ...(a.graphs ?? [])];
      sub.forEach((sg, j) => allGraphs(sg, `${path}/${node.name || `${node.opType}_${k}`}.${a.name}${sub.length > 1 ? `[${j}]` : ''}`, out));
    }
  }
  return out;
}

/** Non-zeros of little-endian raw data of a dtype (a float is zero when all but its sign bit are 0). */
function countRawNonZeros(raw: Uint8Array, code: number): number | null {
  const { bits, float } = dtypeInfo(code);
  if (bits === 0) return null;
  let n = 0;
  if (bits === 4) {
    const mask = float ? 0x7 : 0xf;
    for (const byte of raw) n += (byte & mask ? 1 : 0) + ((byte >> 4) & mask ? 1 : 0);
    return n;
  }
  const width = bits / 8;
  // Complex numbers: two floats; each part is tested, the element is non-zero if either is.
  const parts = code === 14 || code === 15 ? 2 : 1;
  const partWidth = width / parts;
  for (let off = 0; off + width <= raw.length; off += width) {
    let nz = false;
    for (let p = 0; p < parts && !nz; p++) {
      const start = off + p * partWidth;
      for (let k = 0; k < partWidth; k++) {
        let byte = raw[start + k];
        if (float && k === partWidth - 1) byte &= 0x7f; // sign bit is the top bit of the last byte
        if (byte !== 0) {
          nz = true;
          break;
        }
      }
    }
    if (nz) n++;
  }
  return n;
}

/** Values in a typed field: (count, non-zeros) and the field's name. */
function typedField(t: onnx.ITensorProto): { field: string; count: number; nonZeros: number } | null {
  const isZero = (v: number | Long | Uint8Array) => (v instanceof Uint8Array ? v.length === 0 : typeof v === 'number' ? v === 0 : v.low === 0 && v.high === 0);
  const pick = (field: string, arr: Array<number | Long | Uint8Array> | null | undefined) =>
    arr && arr.length > 0 ? { field, count: arr.length, nonZeros: arr.filter((v) => !isZero(v)).length } : null;
  return (
    pick('float_data', t.floatData) ??
    pick('int32_data', t.int32Data) ??
    pick('int64_data', t.int64Data as Array<number | Long>) ??
    pick('uint64_data', t.uint64Data as Array<number | Long>) ??
    pick('double_data', t.doubleData) ??
    pick('string_data', t.stringData)
  );
}

/** Describes one TensorProto's data: where it is, its bytes, its non-zeros. */
export function tensorData(
  t: onnx.ITensorProto,
  label: string,
  warnings: string[],
): { location: string; bytes: number; nonZeros: number | null; external?: Record<string, string> } {
  const code = t.dataType ?? 0;
  const numel = product((t.dims ?? []).map((d) => toNumber(d as number | Long)));
  const { bits } = dtypeInfo(code);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const external = Object.fromEntries((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const length = external.length !== undefined ? Number(external.length) : Math.ceil((numel * bits) / 8);
    return { location: 'external', bytes: length, nonZeros: null, external };
  }
  if (t.rawData && t.rawData.length > 0) {
    const expected = Math.ceil((numel * bits) / 8);
    if (bits > 0 && t.rawData.length !== expected) warnings.push(`${label}: raw_data has ${t.rawData.length} bytes, shape and dtype need ${expected}`);
    return { location: 'raw_data', bytes: t.rawData.length, nonZeros: countRawNonZeros(t.rawData, code) };
  }
  const typed = typedField(t);
  if (!typed) {
    if (numel > 0) warnings.push(`${label}: no data for ${numel} element(s)`);
    return { location: 'empty', bytes: 0, nonZeros: 0 };
  }
  const perElement = code === 14 || code === 15 ? 2 : 1; // complex: two numbers each
  if (bits >= 8 && typed.count !== numel * perElement) warnings.push(`${label}: ${typed.field} has ${typed.count} values, shape needs ${numel * perElement}`);
  const nonZeros = perElement === 1 && typed.field !== 'string_data' ? typed.nonZeros : typed.field === 'string_data' ? null : Math.min(numel, typed.nonZeros);
  return { location: typed.field, bytes: bits > 0 ? Math.ceil((numel * bits) / 8) : typed.count, nonZeros };
}

export function denseInfo(t: onnx.ITensorProto, graph: string, kind: 'dense' | 'constant', warnings: string[]): InitializerInfo {
  const shape = (t.dims ?? []).map((d) => toNumber(d as number | Long));
  const numel = product(shape);
  const d = tensorData(t, `initializer '${t.name}'`, warnings);
  return {
    name: t.name ?? '',
    graph,
    kind,
    dtype: dtypeInfo(t.dataType ?? 0).name,
    shape,
    numel,
    nonZeros: d.nonZeros,
    sparsity: d.nonZeros === null || numel === 0 ? null : zeroFraction(numel, d.nonZeros),
    bytes: d.bytes,
    location: d.location,
    ...(d.external ? { external: d.external } : {}),
  };
}

export function sparseInfo(s: onnx.ISparseTensorProto, graph: string, warnings: string[]): InitializerInfo {
  const values = s.values ?? {};
  const indices = s.indices ?? {};
  const name = values.name ?? '';
  const shape = (s.dims ?? []).map((d) => toNumber(d as number | Long));
  const numel = product(shape);
  const v = tensorData(values, `sparse initializer '${name}' values`, warnings);
  const ix = tensorData(indices, `sparse initializer '${name}' indices`, warnings);
  const nnzDeclared = toNumber((values.dims ?? [0])[0] as number | Long);
  const idxDims = (indices.dims ?? []).map((d) => toNumber(d as number | Long));
  if (idxDims[0] !== nnzDeclared) warnings.push(`sparse initializer '${name}': ${nnzDeclared} values but ${idxDims[0]} indices`);
  const external = v.location === 'external' || ix.location === 'external';
  return {
    name,
    graph,
    kind: 'sparse',
    dtype: dtypeInfo(values.dataType ?? 0).name,
    shape,
    numel,
    nonZeros: v.nonZeros,
    sparsity: v.nonZeros === null || numel === 0 ? null : zeroFraction(numel, v.nonZeros),
    bytes: v.bytes + ix.bytes,
    location: external ? 'external' : v.location,
    sparse: { layout: idxDims.length === 2 ? 'coo' : 'linear', indexDtype: dtypeInfo(indices.dataType ?? 0).name, valueBytes: v.bytes, indexBytes: ix.bytes },
  };
}

/** The integers of an int8/uint8 tensor held in raw_data or int32_data, or null (other dtypes, external data). */
export function integerValues(t: onnx.ITensorProto): IntValues | null {
  const signed = t.dataType === 3;
  if (t.dataType !== 2 && !signed) return null;
  if (t.rawData && t.rawData.length) {
    const copy = new Uint8Array(t.rawData);
    return signed ? new Int8Array(copy.buffer) : copy;
  }
  const ints = t.int32Data ?? [];
  return signed ? Int8Array.from(ints) : Uint8Array.from(ints);
}
