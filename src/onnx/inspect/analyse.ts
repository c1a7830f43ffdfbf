/**
 * Reads any ONNX file (not only ours) and says what is in it: every initializer (dense, sparse,
 * Constant-node values, subgraphs included) with dtype, shape, non-zeros and bytes, the totals, and
 * the quantization it finds (QDQ pairs on activations, DequantizeLinear on weights, integer ops).
 * Compact weights (a mask or gaps initializer plus values, or packed nibbles, decoded by a standard-op subgraph) are
 * recognised and decoded here, so their non-zeros are counted from the decoded integers. Reports
 * recompute compression figures from this, so it counts what is in the file, not what the
 * exporter meant to write.
 */
import { readFileSync } from 'node:fs';
import { countNonZeros, zeroFraction } from '../../model/sparsity.js';
import { CompactEncodingError, decodeGaps, decodeMask, decodeNibbles, type IntValues } from '../compact.js';
import { recogniseCompact, type CompactPattern } from '../compact-graph.js';
import { readMetadata } from '../metadata.js';
import { dtypeInfo, getAttr, toNumber, type Long, type onnx } from '../proto.js';
import { fileSizes, partBreakdown, type FileSizes, type PartBreakdown } from '../sizes.js';
import { allGraphs, decodeOnnx, denseInfo, integerValues, sparseInfo, type GraphCtx, type InitializerInfo } from './decode.js';

export type { InitializerInfo } from './decode.js';
export { decodeOnnx } from './decode.js';

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
    compact: number;
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
  /** Bytes by part (embeddings, encoder Linear, heads, other) and bits per encoder Linear weight. */
  parts: PartBreakdown;
  /** Raw, gzip -9 and brotli (quality 11) bytes of the file, when asked for (`sizes: true`). */
  sizes?: FileSizes;
  /** Whether consumers other than ONNX Runtime can load the file, and why not. */
  portability: { standard: boolean; reasons: string[] };
  /** Inconsistencies that do not stop inspection (e.g. data length not matching the shape). */
  warnings: string[];
  /** Data that cannot describe its tensor (e.g. a compact weight that does not decode): the file is broken. */
  errors: string[];
}

const INTEGER_OPS = new Set([
  'MatMulInteger',
  'QLinearMatMul',
  'ConvInteger',
  'QLinearConv',
  'DynamicQuantizeLinear',
  'MatMulIntegerToFloat',
  'DynamicQuantizeMatMul',
  'QAttention',
  'QEmbedLayerNormalization',
  'QGemm',
  'QLinearAdd',
  'QLinearMul',
  'QOrderedMatMul',
  'MatMulNBits',
  'GatherBlockQuantized',
]);

export function inspectOnnxFile(path: string, sizes = false): OnnxInspection {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as Error).message})`);
  }
  return inspectOnnx(bytes, { source: path, sizes });
}

export interface InspectOptions {
  source?: string;
  /** Also compress the file (gzip -9, brotli 11) to report its sizes; slow for big files (brotli ~0.5 MB/s). */
  sizes?: boolean;
  brotliQuality?: number;
}

export function inspectOnnx(bytes: Uint8Array, opts: InspectOptions = {}): OnnxInspection {
  const source = opts.source ?? '<bytes>';
  const model = decodeOnnx(bytes, source);
  const g = model.graph!;
  const warnings: string[] = [];
  const errors: string[] = [];
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
    foldCompact(graph, path, initializers, errors);
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
      dense: initializers.filter((t) => t.kind !== 'sparse' && t.kind !== 'compact' && t.location !== 'external').length,
      sparse: initializers.filter((t) => t.kind === 'sparse' || t.sparse).length,
      compact: initializers.filter((t) => t.kind === 'compact').length,
      external: initializers.filter((t) => t.location === 'external').length,
      numel: initializers.reduce((a, t) => a + t.numel, 0),
      nonZeros,
      sparsity: zeroFraction(numelInFile, nonZeros),
      bytes: bytesTotal,
      bytesByDtype,
      overheadBytes: bytes.length - bytesTotal,
    },
    quantization: findQuantization(graphs, initializers, opCounts),
    parts: partBreakdown(initializers, bytes.length),
    ...(opts.sizes ? { sizes: fileSizes(bytes, opts.brotliQuality) } : {}),
    portability: portability(graphs, initializers),
    warnings,
    errors,
  };
}

/**
 * Replaces the parts of each compact weight of `graph` (its mask or gaps initializer and its
 * values, or its packed nibbles) by one entry for the decoded weight, with non-zeros counted from
 * the decoded integers.
 */
function foldCompact(graph: onnx.IGraphProto, path: string, initializers: InitializerInfo[], errors: string[]): void {
  const protos = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  for (const p of recogniseCompact(graph)) {
    const at = (name: string) => initializers.findIndex((i) => i.graph === path && i.name === name && i.kind === 'dense');
    const index = p.index === undefined ? null : initializers[at(p.index)];
    const values = initializers[at(p.values)];
    if (index === undefined || !values) continue;
    const numel = p.shape.reduce((a, b) => a * b, 1);
    let nonZeros: number | null = null;
    try {
      nonZeros = countNonZeros(decodePattern(p, protos, values.dtype));
    } catch (e) {
      if (!(e instanceof CompactEncodingError)) throw e;
      errors.push(e.message);
    }
    for (const part of index ? [index, values] : [values]) initializers.splice(initializers.indexOf(part), 1);
    initializers.push({
      name: p.output,
      graph: path,
      kind: 'compact',
      dtype: p.encoding === 'nibbles' ? 'int8' : values.dtype,
      shape: p.shape,
      numel,
      nonZeros,
      sparsity: nonZeros === null || numel === 0 ? null : zeroFraction(numel, nonZeros),
      bytes: (index?.bytes ?? 0) + values.bytes,
      location: values.location,
      compact: {
        encoding: p.encoding,
        ...(p.index !== undefined ? { index: p.index } : {}),
        indexBytes: index?.bytes ?? 0,
        values: p.values,
        valueBytes: values.bytes,
      },
    });
  }
}

/** The integers a recognised compact weight decodes to; throws CompactEncodingError naming it. */
function decodePattern(p: CompactPattern, protos: Map<string, onnx.ITensorProto>, valuesDtype: string): IntValues {
  const ints = integerValues(protos.get(p.values)!);
  if (!ints) throw new CompactEncodingError(p.output, `values initializer '${p.values}' is ${valuesDtype}, not int8 or uint8`);
  if (p.encoding === 'nibbles') return decodeNibbles(p.output, p.shape, new Uint8Array(ints));
  const idx = new Uint8Array(integerValues(protos.get(p.index!)!)!);
  return p.encoding === 'mask' ? decodeMask(p.output, p.shape, idx, ints) : decodeGaps(p.output, p.shape, idx, ints);
}

/** Sparse initializers make a file ONNX Runtime only (onnx.checker: int64 indices only; full check: none feeding DequantizeLinear). */
function portability(graphs: GraphCtx[], inits: InitializerInfo[]): OnnxInspection['portability'] {
  const reasons: string[] = [];
  const dqInputs = new Set(graphs.flatMap((c) => (c.graph.node ?? []).filter((n) => n.opType === 'DequantizeLinear').map((n) => n.input?.[0] ?? '')));
  for (const t of inits.filter((i) => i.kind === 'sparse' && i.sparse)) {
    if (t.sparse!.indexDtype !== 'int64')
      reasons.push(`sparse initializer '${t.name}' has ${t.sparse!.indexDtype} indices: ONNX Runtime only (onnx.checker accepts int64 indices only)`);
    else if (dqInputs.has(t.name))
      reasons.push(`sparse initializer '${t.name}' feeds DequantizeLinear: onnx.checker's full check rejects it (ONNX Runtime loads it)`);
  }
  return { standard: reasons.length === 0, reasons };
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
        shape: (tt?.shape?.dim ?? []).map((d) =>
          d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined ? toNumber(d.dimValue as number | Long) : '?',
        ),
      };
    });
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
    activationsQuantized:
      activations.length > 0 || 'DynamicQuantizeLinear' in integerOps || Object.keys(integerOps).some((k) => /DynamicQuantize|QLinear|QAttention/.test(k)),
    perChannel: weights.filter((w) => w.perChannel).length,
    perTensor: weights.filter((w) => !w.perChannel).length,
    integerOps,
  };
}

const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);
