/**
 * Reads any ONNX file (not only ours) and says what is in it: every initializer (dense, sparse,
 * Constant-node values, subgraphs included) with dtype, shape, non-zeros and bytes, the totals, and
 * the quantization it finds (QDQ pairs on activations, DequantizeLinear on weights, integer ops).
 * Reports recompute compression figures from this, so it counts what is in the file, not what
 * the exporter meant to write.
 */
import { readFileSync } from 'node:fs';
import { dtypeInfo, getAttr, onnx, product, toNumber, type Long } from './proto.js';
import { readMetadata } from './metadata.js';

export interface InitializerInfo {
  name: string;
  /** 'main', or the path of the subgraph that holds it (e.g. 'main/If_0.then_branch'). */
  graph: string;
  kind: 'dense' | 'sparse' | 'constant';
  dtype: string;
  shape: number[];
  numel: number;
  /** Non-zero elements; null when the data is not in the file (external) or not numeric. */
  nonZeros: number | null;
  /** 1 - nonZeros / numel, or null. */
  sparsity: number | null;
  /** Data bytes: raw values (typed fields counted at their dtype's width), plus indices when sparse. */
  bytes: number;
  /** Where the values live: raw_data, a typed field (float_data, int32_data, ...), or external. */
  location: string;
  sparse?: { layout: 'linear' | 'coo'; indexDtype: string; valueBytes: number; indexBytes: number };
  external?: Record<string, string>;
}

export interface QuantizedWeightInfo {
  /** The quantized initializer (input 0 of a DequantizeLinear). */
  tensor: string;
  dtype: string;
  perChannel: boolean;
  /** Axis of the scales when per channel, else null. */
  axis: number | null;
  channels: number;
  /** Op types that consume the DequantizeLinear output. */
  consumers: string[];
}

export interface QuantizedActivationInfo {
  /** The float value that is quantized. */
  input: string;
  dtype: string;
  /** true: QuantizeLinear -> DequantizeLinear pair (QDQ); false: QuantizeLinear feeding integer ops. */
  qdq: boolean;
  consumers: string[];
}

export interface OnnxInspection {
  source: string;
  fileBytes: number;
  irVersion: number;
  /** Version of the default ('ai.onnx') opset, or null. */
  opset: number | null;
  opsets: Array<{ domain: string; version: number }>;
  producer: { name: string; version: string };
  metadata: Record<string, string>;
  graphName: string;
  inputs: Array<{ name: string; dtype: string; shape: Array<number | string> }>;
  outputs: Array<{ name: string; dtype: string; shape: Array<number | string> }>;
  nodes: number;
  opCounts: Record<string, number>;
  initializers: InitializerInfo[];
  totals: {
    tensors: number;
    dense: number;
    sparse: number;
    external: number;
    numel: number;
    nonZeros: number;
    /** Over tensors whose values are in the file. */
    sparsity: number;
    bytes: number;
    bytesByDtype: Record<string, number>;
    /** fileBytes - bytes: graph structure, names, protobuf framing. */
    overheadBytes: number;
  };
  quantization: {
    format: 'none' | 'qdq' | 'qoperator' | 'mixed';
    weights: QuantizedWeightInfo[];
    activations: QuantizedActivationInfo[];
    activationsQuantized: boolean;
    perChannel: number;
    perTensor: number;
    /** Integer-arithmetic ops present (QOperator format or ORT-fused graphs). */
    integerOps: Record<string, number>;
  };
  /** Inconsistencies that do not stop inspection (e.g. data length not matching the shape). */
  warnings: string[];
}

const INTEGER_OPS = new Set([
  'MatMulInteger', 'QLinearMatMul', 'ConvInteger', 'QLinearConv', 'DynamicQuantizeLinear', 'MatMulIntegerToFloat',
  'DynamicQuantizeMatMul', 'QAttention', 'QEmbedLayerNormalization', 'QGemm', 'QLinearAdd', 'QLinearMul', 'QOrderedMatMul',
  'MatMulNBits', 'GatherBlockQuantized',
]);

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

export function inspectOnnxFile(path: string): OnnxInspection {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as Error).message})`);
  }
  return inspectOnnx(bytes, { source: path });
}

interface GraphCtx {
  path: string;
  graph: onnx.IGraphProto;
}

/** Every graph and subgraph (If/Loop/Scan bodies), depth first. */
function allGraphs(g: onnx.IGraphProto, path: string, out: GraphCtx[] = []): GraphCtx[] {
  out.push({ path, graph: g });
  for (const [k, node] of (g.node ?? []).entries()) {
    for (const a of node.attribute ?? []) {
      const sub = [...(a.g ? [a.g] : []), ...(a.graphs ?? [])];
      sub.forEach((sg, j) => allGraphs(sg, `${path}/${node.name || `${node.opType}_${k}`}.${a.name}${sub.length > 1 ? `[${j}]` : ''}`, out));
    }
  }
  return out;
}

export function inspectOnnx(bytes: Uint8Array, opts: { source?: string } = {}): OnnxInspection {
  const source = opts.source ?? '<bytes>';
  const model = decodeOnnx(bytes, source);
  const g = model.graph!;
  const warnings: string[] = [];
  const graphs = allGraphs(g, 'main');

  const initializers: InitializerInfo[] = [];
  const opCounts: Record<string, number> = {};
  let nodes = 0;
  for (const { path, graph } of graphs) {
    for (const t of graph.initializer ?? []) initializers.push(denseInfo(t, path, 'dense', warnings));
    for (const s of graph.sparseInitializer ?? []) initializers.push(sparseInfo(s, path, warnings));
    for (const n of graph.node ?? []) {
      nodes++;
      const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType!;
      opCounts[key] = (opCounts[key] ?? 0) + 1;
      if (n.opType === 'Constant' && (!n.domain || n.domain === 'ai.onnx')) {
        const a = (n.attribute ?? []).find((x) => x.name === 'value' || x.name === 'sparse_value');
        if (a?.t) initializers.push({ ...denseInfo(a.t, path, 'constant', warnings), name: n.output?.[0] ?? a.t.name ?? '' });
        else if (a?.sparseTensor) initializers.push({ ...sparseInfo(a.sparseTensor, path, warnings), kind: 'constant', name: n.output?.[0] ?? '' });
      }
    }
  }

  const inFile = initializers.filter((t) => t.nonZeros !== null);
  const numelInFile = inFile.reduce((a, t) => a + t.numel, 0);
  const nonZeros = inFile.reduce((a, t) => a + (t.nonZeros ?? 0), 0);
  const bytesTotal = initializers.reduce((a, t) => a + (t.location === 'external' ? 0 : t.bytes), 0);
  const bytesByDtype: Record<string, number> = {};
  for (const t of initializers) {
    if (t.location === 'external') continue;
    const key = t.sparse ? `${t.dtype} (sparse values + ${t.sparse.indexDtype} indices)` : t.dtype;
    bytesByDtype[key] = (bytesByDtype[key] ?? 0) + t.bytes;
  }

  const opsets = (model.opsetImport ?? []).map((o) => ({ domain: o.domain ?? '', version: toNumber(o.version as number | Long) }));
  return {
    source,
    fileBytes: bytes.length,
    irVersion: toNumber(model.irVersion as number | Long),
    opset: opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? null,
    opsets,
    producer: { name: model.producerName ?? '', version: model.producerVersion ?? '' },
    metadata: readMetadata(model),
    graphName: g.name ?? '',
    inputs: valueInfos(g.input ?? [], new Set((g.initializer ?? []).map((t) => t.name ?? ''))),
    outputs: valueInfos(g.output ?? [], new Set()),
    nodes,
    opCounts,
    initializers,
    totals: {
      tensors: initializers.length,
      dense: initializers.filter((t) => t.kind !== 'sparse' && t.location !== 'external').length,
      sparse: initializers.filter((t) => t.kind === 'sparse' || t.sparse).length,
      external: initializers.filter((t) => t.location === 'external').length,
      numel: initializers.reduce((a, t) => a + t.numel, 0),
      nonZeros,
      sparsity: numelInFile > 0 ? 1 - nonZeros / numelInFile : 0,
      bytes: bytesTotal,
      bytesByDtype,
      overheadBytes: bytes.length - bytesTotal,
    },
    quantization: findQuantization(graphs, initializers, opCounts),
    warnings,
  };
}

function valueInfos(vs: onnx.IValueInfoProto[], initializerNames: Set<string>) {
  // IR < 4 lists initializers among the inputs; those are not real inputs.
  return vs
    .filter((v) => !initializerNames.has(v.name ?? ''))
    .map((v) => {
      const tt = v.type?.tensorType;
      return {
        name: v.name ?? '',
        dtype: tt ? dtypeInfo(tt.elemType ?? 0).name : 'non-tensor',
        shape: (tt?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined ? toNumber(d.dimValue as number | Long) : '?')),
      };
    });
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
        if (byte !== 0) { nz = true; break; }
      }
    }
    if (nz) n++;
  }
  return n;
}

/** Values in a typed field: (count, non-zeros) and the field's name. */
function typedField(t: onnx.ITensorProto): { field: string; count: number; nonZeros: number } | null {
  const isZero = (v: number | Long | Uint8Array) =>
    v instanceof Uint8Array ? v.length === 0 : typeof v === 'number' ? v === 0 : v.low === 0 && v.high === 0;
  const pick = (field: string, arr: Array<number | Long | Uint8Array> | null | undefined) =>
    arr && arr.length > 0 ? { field, count: arr.length, nonZeros: arr.filter((v) => !isZero(v)).length } : null;
  return pick('float_data', t.floatData) ?? pick('int32_data', t.int32Data) ?? pick('int64_data', t.int64Data as Array<number | Long>)
    ?? pick('uint64_data', t.uint64Data as Array<number | Long>) ?? pick('double_data', t.doubleData) ?? pick('string_data', t.stringData);
}

/** Describes one TensorProto's data: where it is, its bytes, its non-zeros. */
function tensorData(t: onnx.ITensorProto, label: string, warnings: string[]): { location: string; bytes: number; nonZeros: number | null; external?: Record<string, string> } {
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

function denseInfo(t: onnx.ITensorProto, graph: string, kind: 'dense' | 'constant', warnings: string[]): InitializerInfo {
  const shape = (t.dims ?? []).map((d) => toNumber(d as number | Long));
  const numel = product(shape);
  const d = tensorData(t, `initializer '${t.name}'`, warnings);
  return {
    name: t.name ?? '', graph, kind, dtype: dtypeInfo(t.dataType ?? 0).name, shape, numel,
    nonZeros: d.nonZeros, sparsity: d.nonZeros === null || numel === 0 ? null : 1 - d.nonZeros / numel,
    bytes: d.bytes, location: d.location, ...(d.external ? { external: d.external } : {}),
  };
}

function sparseInfo(s: onnx.ISparseTensorProto, graph: string, warnings: string[]): InitializerInfo {
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
    name, graph, kind: 'sparse', dtype: dtypeInfo(values.dataType ?? 0).name, shape, numel,
    nonZeros: v.nonZeros, sparsity: v.nonZeros === null || numel === 0 ? null : 1 - v.nonZeros / numel,
    bytes: v.bytes + ix.bytes,
    location: external ? 'external' : v.location,
    sparse: { layout: idxDims.length === 2 ? 'coo' : 'linear', indexDtype: dtypeInfo(indices.dataType ?? 0).name, valueBytes: v.bytes, indexBytes: ix.bytes },
  };
}

function findQuantization(graphs: GraphCtx[], inits: InitializerInfo[], opCounts: Record<string, number>): OnnxInspection['quantization'] {
  const initByName = new Map(inits.map((t) => [t.name, t]));
  const allNodes = graphs.flatMap((c) => c.graph.node ?? []);
  const consumers = new Map<string, onnx.INodeProto[]>();
  for (const n of allNodes) {
    for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  const isStd = (n: onnx.INodeProto, op: string) => n.opType === op && (!n.domain || n.domain === 'ai.onnx' || n.domain === 'com.microsoft');
  const opTypesOf = (value: string) => [...new Set((consumers.get(value) ?? []).map((n) => n.opType ?? ''))];

  const weights: QuantizedWeightInfo[] = [];
  const activations: QuantizedActivationInfo[] = [];
  for (const n of allNodes) {
    const [x, scale] = n.input ?? [];
    if (isStd(n, 'DequantizeLinear')) {
      const w = initByName.get(x);
      if (!w) continue; // DQ of an activation: handled with its QuantizeLinear below
      const s = initByName.get(scale);
      const channels = s ? s.numel : 1;
      const perChannel = channels > 1;
      const axis = perChannel ? normAxis(Number(getAttr(n, 'axis') ?? 1), w.shape.length) : null;
      weights.push({ tensor: x, dtype: w.dtype, perChannel, axis, channels, consumers: opTypesOf(n.output?.[0] ?? '') });
    } else if (isStd(n, 'QuantizeLinear') && !initByName.has(x)) {
      const out = n.output?.[0] ?? '';
      const next = consumers.get(out) ?? [];
      const dq = next.filter((m) => isStd(m, 'DequantizeLinear'));
      const zp = initByName.get((n.input ?? [])[2] ?? '');
      activations.push({
        input: x,
        dtype: zp?.dtype ?? 'uint8',
        qdq: dq.length > 0,
        consumers: dq.length > 0 ? [...new Set(dq.flatMap((m) => opTypesOf(m.output?.[0] ?? '')))] : next.map((m) => m.opType ?? ''),
      });
    }
  }
  const integerOps = Object.fromEntries(Object.entries(opCounts).filter(([op]) => INTEGER_OPS.has(op.split('.').pop()!)));
  const hasQdq = weights.length > 0 || activations.some((a) => a.qdq);
  const hasQop = Object.keys(integerOps).length > 0;
  return {
    format: hasQdq && hasQop ? 'mixed' : hasQdq ? 'qdq' : hasQop ? 'qoperator' : 'none',
    weights,
    activations,
    activationsQuantized: activations.length > 0 || 'DynamicQuantizeLinear' in integerOps || Object.keys(integerOps).some((k) => /DynamicQuantize|QLinear|QAttention/.test(k)),
    perChannel: weights.filter((w) => w.perChannel).length,
    perTensor: weights.filter((w) => !w.perChannel).length,
    integerOps,
  };
}

const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

// ---- terminal formatting -----------------------------------------------------------------------

/** Left-aligned text, right-aligned numbers, two spaces between columns. */
export function table(header: string[], rows: string[][], rightAlign: boolean[] = []): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (rightAlign[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(2)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);

export function formatInspection(ins: OnnxInspection): string {
  const out: string[] = [];
  const io = (v: OnnxInspection['inputs']) => v.map((x) => `${x.name}: ${x.dtype}[${x.shape.join(', ')}]`).join(', ');
  out.push(`${ins.source}: ${formatBytes(ins.fileBytes)} (${ins.fileBytes} bytes)`);
  out.push(`  IR ${ins.irVersion}, opsets ${ins.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}; producer ${ins.producer.name || '-'} ${ins.producer.version}`.trimEnd());
  out.push(`  graph '${ins.graphName}': ${ins.nodes} nodes; inputs ${io(ins.inputs)}; outputs ${io(ins.outputs)}`);
  const meta = Object.entries(ins.metadata);
  if (meta.length) out.push(`  metadata: ${meta.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  out.push(`  ops: ${Object.entries(ins.opCounts).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out.push('');

  const rows = ins.initializers.map((t) => [
    t.name,
    t.dtype,
    `[${t.shape.join('x')}]`,
    t.sparse ? `sparse ${t.sparse.layout}/${t.sparse.indexDtype}` : t.location === 'external' ? 'external' : t.kind,
    t.nonZeros === null ? '-' : String(t.nonZeros),
    pct(t.sparsity),
    String(t.bytes),
  ]);
  out.push(table(['tensor', 'dtype', 'shape', 'storage', 'non-zeros', 'sparsity', 'bytes'], rows, [false, false, false, false, true, true, true]));
  const T = ins.totals;
  out.push('');
  out.push(`  ${T.tensors} tensors (${T.dense} dense, ${T.sparse} sparse, ${T.external} external): ${T.numel} elements, ${T.nonZeros} non-zero (${pct(T.sparsity)} sparse)`);
  out.push(`  tensor data ${formatBytes(T.bytes)} (${T.bytes} bytes) + graph/protobuf overhead ${formatBytes(T.overheadBytes)}`);
  for (const [k, v] of Object.entries(T.bytesByDtype)) out.push(`    ${k}: ${formatBytes(v)} (${v} bytes)`);

  const Q = ins.quantization;
  out.push('');
  if (Q.format === 'none') {
    out.push('  quantization: none');
  } else {
    out.push(`  quantization: ${Q.format}; ${Q.weights.length} quantized weights (${Q.perChannel} per-channel, ${Q.perTensor} per-tensor); activations ${Q.activationsQuantized ? `quantized (${Q.activations.length} QuantizeLinear)` : 'float'}`);
    if (Object.keys(Q.integerOps).length) out.push(`  integer ops: ${Object.entries(Q.integerOps).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (Q.weights.length) {
      out.push(table(['quantized weight', 'dtype', 'scheme', 'consumers'], Q.weights.map((w) => [
        w.tensor, w.dtype, w.perChannel ? `per-channel axis ${w.axis} (${w.channels})` : 'per-tensor', w.consumers.join(', '),
      ])));
    }
  }
  if (ins.warnings.length) out.push('', ...ins.warnings.map((w) => `  warning: ${w}`));
  return out.join('\n');
}
