/**
 * The exporter's own validation, run before any bytes are produced: a wrong shape, a NaN or a
 * missing quantization parameter must fail here with the tensor's name, not later as an opaque
 * ONNX Runtime error (or, worse, as a file that loads and computes something else).
 */
import { validateConfig } from '../model/config.js';
import { weightRole, weightShapes } from '../model/weights.js';
import type { ModelSnapshot } from '../model/snapshot.js';
import { embeddingSpecOf, qRange } from '../quant/quantize.js';
import type { ModelQuantization, QuantizerSpec, QuantParams } from '../quant/types.js';
import { metadataProblems } from './metadata.js';

export class OnnxExportError extends Error {
  constructor(readonly problems: string[]) {
    super(`cannot export ONNX model:\n  - ${problems.join('\n  - ')}`);
    this.name = 'OnnxExportError';
  }
}

export type ExportFormat = 'fp32' | 'int8';

/** Weights the ONNX graph reads, with their shapes (the MLM head only with `mlmHead`: the fill-mask export). */
export function graphWeightShapes(snapshot: ModelSnapshot, mlmHead = false): Array<[string, number[]]> {
  return weightShapes(snapshot.config, { mlmHead });
}

const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;
const MAX_PROBLEMS = 25;

/** Throws an OnnxExportError listing every problem found (up to 25). */
export function checkExportInput(input: {
  snapshot: ModelSnapshot;
  format: ExportFormat;
  quantization?: ModelQuantization;
  metadata?: Record<string, string>;
  head?: 'mlm';
}): void {
  const problems: string[] = [];
  const add = (p: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  const { snapshot, format } = input;
  if (input.head === 'mlm' && snapshot.config.numLabels > 0)
    throw new OnnxExportError(['the MLM head is exported for a pre-trained model only (numLabels 0); this one has a classifier']);
  if (format !== 'fp32' && format !== 'int8') throw new OnnxExportError([`format must be 'fp32' or 'int8', got '${String(format)}'`]);
  try {
    validateConfig(snapshot.config);
  } catch (e) {
    throw new OnnxExportError([(e as Error).message]);
  }

  const shapes = new Map(graphWeightShapes(snapshot, input.head === 'mlm'));
  for (const [name, expected] of shapes) {
    const w = snapshot.weights.get(name);
    if (!w) {
      add(`weight '${name}' is missing (expected shape ${fmtShape(expected)})`);
      continue;
    }
    if (w.shape.length !== expected.length || w.shape.some((d, i) => d !== expected[i])) {
      add(`weight '${name}': expected shape ${fmtShape(expected)}, found ${fmtShape(w.shape)}`);
      continue;
    }
    const size = expected.reduce((a, b) => a * b, 1);
    if (w.data.length !== size) {
      add(`weight '${name}': shape ${fmtShape(expected)} needs ${size} values, data has ${w.data.length}`);
      continue;
    }
    const bad = w.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) add(`weight '${name}': value ${w.data[bad]} at flat index ${bad} is not finite`);
  }

  metadataProblems(format, input.metadata).forEach(add);

  if (format === 'int8') {
    if (!input.quantization) {
      add("format 'int8' needs quantization parameters (ModelQuantization: weight and input scales from QAT or calibration)");
    } else {
      checkQuantization(input.quantization, shapes, add);
    }
  }
  if (problems.length > 0) throw new OnnxExportError(problems);
}

function checkQuantization(q: ModelQuantization, shapes: Map<string, number[]>, add: (p: string) => void): void {
  if (q.bias === 'int32') {
    add(
      "quantization.bias 'int32' is not supported: the trained forward (quantizedLinear) keeps biases in float, so int32 biases would not reproduce it; export with bias 'float32'",
    );
  }
  checkSpec('weightSpec', q.weightSpec, add);
  checkSpec('activationSpec', q.activationSpec, add);
  if (q.embeddingSpec) checkEmbeddingSpec(q.embeddingSpec, add);

  for (const name of new Set([...Object.keys(q.weights), ...Object.keys(q.inputs)])) {
    const shape = shapes.get(name);
    if (weightRole(name) !== 'encoder-linear' || !shape) {
      add(`quantization for '${name}': only the encoder's Linear kernels can be quantized${shape ? '' : ' (no such kernel in this model)'}`);
      continue;
    }
    const wp = q.weights[name];
    const ip = q.inputs[name];
    if (!wp) {
      add(`quantization for '${name}': input params present but weight params missing`);
      continue;
    }
    if (!ip) {
      add(`quantization for '${name}': weight params present but input (activation) params missing`);
      continue;
    }
    if (wp.axis !== 1 && wp.axis !== -1)
      add(`quantization for '${name}': weight axis must be 1 (per output channel of the [in, out] kernel) or -1 (per tensor), got ${wp.axis}`);
    else checkParams(`weight params of '${name}'`, wp, wp.axis === -1 ? 1 : shape[1], q.weightSpec, add);
    if (ip.axis !== -1) add(`quantization for '${name}': input params must be per tensor (axis -1), got axis ${ip.axis}`);
    else checkParams(`input params of '${name}'`, ip, 1, q.activationSpec, add);
  }

  for (const [name, p] of Object.entries(q.embeddings)) {
    const shape = shapes.get(name);
    if (weightRole(name) !== 'embedding' || !shape) {
      add(`quantization for '${name}': not an embedding table of this model`);
      continue;
    }
    if (p.axis !== 0 && p.axis !== -1) add(`quantization for '${name}': embedding axis must be 0 (per row) or -1 (per tensor), got ${p.axis}`);
    else checkParams(`embedding params of '${name}'`, p, p.axis === -1 ? 1 : shape[0], embeddingSpecOf(q), add);
  }
}

function checkSpec(what: string, spec: QuantizerSpec, add: (p: string) => void): void {
  if (!spec || spec.bits !== 8) add(`quantization.${what}: only 8-bit quantization can be exported, got bits ${spec?.bits}`);
}

const validBits = (spec: QuantizerSpec | undefined) => !!spec && Number.isInteger(spec.bits) && spec.bits >= 4 && spec.bits <= 8;

/** Tables may have 4..8 bits (int8 storage; 4-bit integers are packed two a byte), symmetric only. */
function checkEmbeddingSpec(spec: QuantizerSpec, add: (p: string) => void): void {
  if (!validBits(spec)) add(`quantization.embeddingSpec: bits must be an integer in 4..8, got ${spec.bits}`);
  else if (!spec.symmetric) add('quantization.embeddingSpec: embedding tables are quantized symmetric (int8 storage, zero point 0); got symmetric: false');
}

function checkParams(what: string, p: QuantParams, channels: number, spec: QuantizerSpec, add: (p: string) => void): void {
  const dtype = spec.symmetric ? 'int8' : 'uint8';
  if (p.dtype !== dtype) add(`${what}: dtype '${p.dtype}' does not match the quantizer spec (${spec.symmetric ? 'symmetric' : 'asymmetric'} -> ${dtype})`);
  if (p.scale.length !== channels) add(`${what}: expected ${channels} scale(s) (one per channel), found ${p.scale.length}`);
  if (p.zeroPoint.length !== p.scale.length) add(`${what}: ${p.scale.length} scales but ${p.zeroPoint.length} zero points`);
  const badScale = Array.from(p.scale).findIndex((s) => !(Number.isFinite(s) && s > 0));
  if (badScale >= 0) add(`${what}: scale[${badScale}] = ${p.scale[badScale]} is not a positive finite number`);
  const [lo, hi] = p.dtype === 'uint8' ? [0, 255] : [-128, 127];
  const badZp = Array.from(p.zeroPoint).findIndex((z) => !Number.isInteger(z) || z < lo || z > hi);
  if (badZp >= 0) add(`${what}: zero point[${badZp}] = ${p.zeroPoint[badZp]} is outside ${p.dtype} [${lo}, ${hi}]`);
  if (!validBits(spec)) return; // reported with the spec
  const { qmin, qmax } = qRange(spec);
  if (qmin < lo || qmax > hi) add(`${what}: quantizer range [${qmin}, ${qmax}] does not fit ${p.dtype}`);
}
