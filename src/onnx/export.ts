/**
 * `exportOnnx`: snapshot (+ quantization parameters) -> ONNX bytes. Pure: no I/O, no tensors.
 *
 * fp32: every weight a dense float initializer (the baseline).
 * int8 (QDQ, opset 17): each quantized encoder kernel is an int8 initializer (integers from
 * `quantizeArray`, the function QAT trained with) behind DequantizeLinear (per output channel,
 * axis 1, or per tensor), and its Linear input passes QuantizeLinear/DequantizeLinear with the
 * layer's uint8 activation params, which lets ONNX Runtime run the MatMul on integers. Quantized
 * embedding tables (integers of the embedding spec: 8 or 4 bits) are int8 behind a per-row
 * DequantizeLinear (axis 0) before the Gather; 4-bit ones are stored packed two a byte. Each int8
 * weight is stored as `storage` says (storage.ts): by default the smallest of dense, packed mask,
 * gap encoding and (integers in [-8, 7]) nibbles, decoded in-graph by standard ops that ONNX Runtime folds at load
 * (compact-graph.ts); every compact weight is decoded back and compared before the bytes are
 * returned. metadata_props get the encoder sparsity, quantization scheme and weight storage of
 * what was stored (metadata.ts).
 */
import { weightRole, type WeightRole } from '../model/weights.js';
import type { ModelSnapshot } from '../model/snapshot.js';
import { embeddingSpecOf, quantizeArray } from '../quant/quantize.js';
import type { ModelQuantization, QuantizerSpec, QuantParams } from '../quant/types.js';
import { checkExportInput, graphWeightShapes, type ExportFormat } from './checks.js';
import { buildBertGraph, GraphBuilder, type GraphWeights } from './graph.js';
import { encoderSparsity, metadataProps, PRODUCER_NAME, quantizationScheme } from './metadata.js';
import { countNonZeros } from '../model/sparsity.js';
import { CompactEncodingError, decodeCompact, type IntValues } from './compact.js';
import { addCompactWeight } from './compact-graph.js';
import { bytesOf, DT, encodeModel, floatTensor, rawTensor } from './proto.js';
import { sparseTensor, type IndexDtype, type SparseLayout } from './sparse.js';
import { chooseWeightStorage, type StorageKind, type WeightStorage } from './storage.js';

export const OPSET = 17;
export const IR_VERSION = 8;

export interface ExportInput {
  snapshot: ModelSnapshot;
  format: ExportFormat;
  /** Required for 'int8'; ignored for 'fp32'. */
  quantization?: ModelQuantization;
  metadata?: Record<string, string>;
  /** Storage of int8 weights (storage.ts): 'compact' (default), 'sparse-initializer' (ONNX Runtime only), 'sparse-initializer-int64', 'dense'. */
  storage?: WeightStorage;
  /** 'mlm': a pre-trained model (no classifier) gets its MLM head and outputs `logits` [batch, sequence, vocab] (fill-mask). */
  head?: 'mlm';
}

/** How one exported weight is stored in the file. */
export interface TensorStorage {
  name: string;
  shape: number[];
  role: WeightRole;
  numel: number;
  /** Non-zeros of the stored values (for int8: of the integers, so weights that round to 0 count as zero). */
  nonZeros: number;
  dtype: 'float32' | 'int8' | 'uint8';
  /** dense; mask, gaps or nibbles (compact.ts, decoded in-graph); sparse (a COO sparse_initializer). */
  storage: StorageKind;
  /** Set when storage is 'sparse'. */
  sparse?: { layout: SparseLayout; indexDtype: IndexDtype };
  /** Raw data bytes in the file: values (nibbles: packed two a byte), plus mask, gaps or indices. */
  bytes: number;
  /** What dense storage of the same dtype would take. */
  denseBytes: number;
  /** For quantized weights: per-tensor or per-channel (axis), and the bytes of its scale + zero point initializers. */
  quantization?: { axis: number; channels: number; paramBytes: number };
}

export interface ExportResult {
  bytes: Uint8Array;
  tensors: TensorStorage[];
}

export function exportOnnx(input: ExportInput): ExportResult {
  checkExportInput(input);
  const { snapshot, format } = input;
  const cfg = snapshot.config;
  const shapes = new Map(graphWeightShapes(snapshot, input.head === 'mlm'));
  const q = format === 'int8' ? input.quantization! : undefined;
  const policy = input.storage ?? 'compact';
  const storage = new Map<string, TensorStorage>();
  const dequantized = new Map<string, string>();

  const weights: GraphWeights = {
    float(b, name) {
      const qp = q?.weights[name] ?? q?.embeddings[name];
      if (!qp) {
        if (!storage.has(name)) storage.set(name, addFloat(b, name, snapshot));
        return name;
      }
      let out = dequantized.get(name);
      if (!out) {
        const spec = q!.weights[name] ? q!.weightSpec : embeddingSpecOf(q!);
        const { storage: st, dq } = addQuantized(b, name, shapes.get(name)!, snapshot, qp, spec, policy);
        storage.set(name, st);
        dequantized.set(name, dq);
        out = dq;
      }
      return out;
    },
    linearInput(b, kernel, x) {
      const ip = q?.inputs[kernel];
      if (!ip) return x;
      const scope = `${kernel.replace(/\/kernel$/, '')}/input_qdq`;
      const scale = b.addInitializer(floatTensor(`${kernel}/input_scale`, [], Float32Array.of(ip.scale[0])));
      const zp = b.addInitializer(zeroPointTensor(`${kernel}/input_zero_point`, [], ip));
      const xq = b.op('QuantizeLinear', [x, scale, zp], scope);
      return b.op('DequantizeLinear', [xq, scale, zp], scope);
    },
  };

  const b = new GraphBuilder();
  const io = buildBertGraph(b, cfg, weights, { mlmHead: input.head === 'mlm' });
  // Report in the fixed order of weightShapes, not graph-walk order.
  const tensors = [...shapes.keys()].map((n) => storage.get(n)).filter((t): t is TensorStorage => !!t);
  const derived = {
    encoder_sparsity: encoderSparsity(tensors).toFixed(6),
    ...(q ? { quantization: quantizationScheme(q), weight_storage: weightStorageNote(tensors) } : {}),
  };
  const model = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: PRODUCER_NAME,
    producerVersion: input.metadata?.tool_version ?? '',
    docString: `BERT encoder (${cfg.numLayers} layers, hidden ${cfg.hiddenSize}, ${cfg.numHeads} heads)${cfg.numLabels > 0 ? ` with a ${cfg.numLabels}-class head` : ''}, ${format}`,
    graph: {
      name: `prune-once-bert-${format}`,
      node: b.nodes,
      initializer: b.initializers,
      sparseInitializer: b.sparseInitializers,
      input: io.inputs,
      output: io.outputs,
    },
    metadataProps: metadataProps(format, derived, input.metadata),
  };
  return { bytes: encodeModel(model), tensors };
}

function addFloat(b: GraphBuilder, name: string, snapshot: ModelSnapshot): TensorStorage {
  const w = snapshot.weights.get(name)!;
  b.addInitializer(floatTensor(name, w.shape, w.data));
  const bytes = w.data.length * 4;
  return {
    name,
    shape: [...w.shape],
    role: weightRole(name),
    numel: w.data.length,
    nonZeros: countNonZeros(w.data),
    dtype: 'float32',
    storage: 'dense',
    bytes,
    denseBytes: bytes,
  };
}

function zeroPointTensor(name: string, dims: number[], p: QuantParams) {
  return p.dtype === 'uint8'
    ? rawTensor(name, DT.UINT8, dims, bytesOf(Uint8Array.from(p.zeroPoint)))
    : rawTensor(name, DT.INT8, dims, bytesOf(Int8Array.from(p.zeroPoint)));
}

/** Integers of a weight exactly as QAT computes them, in the params' storage type. */
export function quantizedValues(data: Float32Array, shape: number[], p: QuantParams, spec: QuantizerSpec): Int8Array | Uint8Array {
  const ints = quantizeArray(data, shape, p, spec);
  const [lo, hi] = p.dtype === 'uint8' ? [0, 255] : [-128, 127];
  for (let i = 0; i < ints.length; i++) {
    if (ints[i] < lo || ints[i] > hi) throw new Error(`internal error: quantized value ${ints[i]} at ${i} outside ${p.dtype}`);
  }
  return p.dtype === 'uint8' ? Uint8Array.from(ints) : Int8Array.from(ints);
}

/** The `weight_storage` metadata entry: the encodings used and, with sparse initializers, that the file is ONNX Runtime only. */
export function weightStorageNote(tensors: readonly TensorStorage[]): string {
  const counts = new Map<string, number>();
  for (const t of tensors) if (t.dtype !== 'float32') counts.set(t.storage, (counts.get(t.storage) ?? 0) + 1);
  const parts = [...counts].map(([k, n]) => `${k} ${n}`).join(', ');
  const sparse = tensors.filter((t) => t.sparse);
  if (!sparse.length) return `${parts}; standard ONNX (opset 17 ops only)`;
  const types = [...new Set(sparse.map((t) => t.sparse!.indexDtype))].join('/');
  return `${parts}; ONNX Runtime only: sparse_initializer with ${types} indices (onnx.checker accepts int64 indices only, and its full check rejects sparse initializers that feed DequantizeLinear)`;
}

/** The exporter's self-check: the compact parts decode to exactly the integers it meant to store. */
export function checkCompactRoundTrip(name: string, shape: readonly number[], encoded: Parameters<typeof decodeCompact>[2], expected: IntValues): void {
  const decoded = decodeCompact(name, shape, encoded);
  const bad = decoded.findIndex((v, i) => v !== expected[i]);
  if (bad >= 0)
    throw new CompactEncodingError(
      name,
      `decodes to ${decoded[bad]} at flat index ${bad}, expected ${expected[bad]} (internal error in the ${encoded.encoding} encoder)`,
    );
}

function addQuantized(
  b: GraphBuilder,
  name: string,
  shape: number[],
  snapshot: ModelSnapshot,
  p: QuantParams,
  spec: QuantizerSpec,
  policy: WeightStorage,
): { storage: TensorStorage; dq: string } {
  const values = quantizedValues(snapshot.weights.get(name)!.data, shape, p, spec);
  const dataType = p.dtype === 'uint8' ? DT.UINT8 : DT.INT8;
  const choice = chooseWeightStorage(values, shape, policy, name);
  if (choice.encoded) {
    checkCompactRoundTrip(name, shape, choice.encoded, values);
    addCompactWeight(b, name, dataType, shape, choice.encoded);
  } else if (choice.kind === 'sparse') b.addSparseInitializer(sparseTensor(name, dataType, values, shape, choice.format!));
  else b.addInitializer(rawTensor(name, dataType, shape, bytesOf(values)));

  const perChannel = p.axis !== -1;
  const dims = perChannel ? [p.scale.length] : [];
  const scale = b.addInitializer(floatTensor(`${name}/scale`, dims, Float32Array.from(p.scale)));
  // A symmetric int8 weight's zero points are all 0, ONNX's default for an omitted zero point: leave it out (1 byte a channel).
  const zeroZp = p.dtype === 'int8' && p.zeroPoint.every((z) => z === 0);
  const zp = zeroZp ? [] : [b.addInitializer(zeroPointTensor(`${name}/zero_point`, dims, p))];
  const dq = b.op('DequantizeLinear', [name, scale, ...zp], `${name}_dq`, perChannel ? { axis: p.axis } : {});
  const channels = p.scale.length;
  return {
    dq,
    storage: {
      name,
      shape: [...shape],
      role: weightRole(name),
      numel: values.length,
      nonZeros: choice.nonZeros,
      dtype: p.dtype,
      storage: choice.kind,
      ...(choice.format ? { sparse: { ...choice.format } } : {}),
      bytes: choice.bytes,
      denseBytes: choice.denseBytes,
      quantization: { axis: p.axis, channels, paramBytes: channels * (zeroZp ? 4 : 5) },
    },
  };
}
