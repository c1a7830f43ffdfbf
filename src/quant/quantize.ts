/**
 * The quantization arithmetic, in one module: parameters from ranges and the quantize / dequantize
 * maps, each in two forms over the same formulas, float32 arithmetic and round-half-to-even (as
 * ONNX QuantizeLinear does): plain arrays for the exporter and the frozen parameters
 * (`paramsFromRange`, `weightParams`, `quantizeArray`), and tf ops for QAT's training step, which
 * must not read tensors back (`paramTensorsFromRange`, `weightParamTensors`, `fakeQuantizeWith`).
 * test/quant/quantize.test.ts checks that the two forms give the same parameters bit for bit, so
 * the integers in the exported file are the integers training used.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelQuantization, QuantParams, QuantizerSpec } from './types.js';

export const INT8_WEIGHTS: QuantizerSpec = { bits: 8, symmetric: true, perChannel: true, narrowRange: true };
export const UINT8_ACTIVATIONS: QuantizerSpec = { bits: 8, symmetric: false, perChannel: false, narrowRange: false };
/** 4-bit embedding tables: per row, symmetric, integers in [-7, 7] (stored two a byte by the exporter). */
export const INT4_EMBEDDINGS: QuantizerSpec = { bits: 4, symmetric: true, perChannel: true, narrowRange: true };

/** The quantizer of the embedding tables: `embeddingSpec`, or `weightSpec` where a quantization predates it. */
export const embeddingSpecOf = (q: Pick<ModelQuantization, 'weightSpec' | 'embeddingSpec'>): QuantizerSpec => q.embeddingSpec ?? q.weightSpec;

/**
 * Integer range of a spec: symmetric [-(2^(b-1) - 1) or -2^(b-1), 2^(b-1) - 1] (int8 [-127|-128, 127],
 * 4 bits [-7|-8, 7]), asymmetric [0, 2^b - 1]. Throws on bits outside 4..8 (the integers live in int8/uint8).
 */
export function qRange(spec: QuantizerSpec): { qmin: number; qmax: number } {
  if (!Number.isInteger(spec.bits) || spec.bits < 4 || spec.bits > 8) throw new Error(`quantizer bits must be an integer in 4..8, got ${spec.bits}`);
  const levels = 2 ** spec.bits;
  if (spec.symmetric) return { qmin: spec.narrowRange ? -(levels / 2 - 1) : -(levels / 2), qmax: levels / 2 - 1 };
  return { qmin: 0, qmax: levels - 1 };
}

/** Round half to even, like ONNX QuantizeLinear and tf.round. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const f32 = Math.fround;

/**
 * Quantization parameters from an observed range (per channel when arrays have length > 1).
 * Symmetric: scale = max(|min|, |max|) / qmax, zero point 0. Asymmetric: the range is widened to
 * include 0 (so 0 is exact, needed for padding and ReLU-like zeros), scale = (max - min) / (qmax - qmin).
 */
export function paramsFromRange(min: ArrayLike<number>, max: ArrayLike<number>, spec: QuantizerSpec, axis: number): QuantParams {
  const { qmin, qmax } = qRange(spec);
  const n = min.length;
  const scale = new Float32Array(n);
  const zeroPoint = new Int32Array(n);
  for (let c = 0; c < n; c++) {
    const lo = Math.min(min[c], 0);
    const hi = Math.max(max[c], 0);
    if (spec.symmetric) {
      const s = f32(f32(Math.max(-lo, hi)) / qmax);
      scale[c] = s > 0 ? s : 1;
    } else {
      const s = f32(f32(hi - lo) / (qmax - qmin));
      scale[c] = s > 0 ? s : 1;
      zeroPoint[c] = Math.min(qmax, Math.max(qmin, roundHalfEven(qmin - f32(lo / scale[c]))));
    }
  }
  return { scale, zeroPoint, axis: spec.perChannel ? axis : -1, dtype: spec.symmetric ? 'int8' : 'uint8' };
}

/**
 * `paramsFromRange` in tf ops, for a training step (no read-back): scale and zero point as float32
 * tensors of the shape of `min`/`max` (scalars per tensor, [1, n] or [n, 1] per channel).
 */
export function paramTensorsFromRange(min: tf.Tensor, max: tf.Tensor, spec: QuantizerSpec): { scale: tf.Tensor; zeroPoint: tf.Tensor } {
  const { qmin, qmax } = qRange(spec);
  return tf.tidy(() => {
    const lo = tf.minimum(min, 0);
    const hi = tf.maximum(max, 0);
    if (spec.symmetric) {
      const absMax = tf.maximum(tf.neg(lo), hi);
      const scale = tf.where(tf.greater(absMax, 0), tf.div(absMax, qmax), tf.onesLike(absMax));
      return { scale, zeroPoint: tf.zerosLike(scale) };
    }
    const range = tf.sub(hi, lo);
    const scale = tf.where(tf.greater(range, 0), tf.div(range, qmax - qmin), tf.onesLike(range));
    const zeroPoint = tf.clipByValue(tf.round(tf.sub(qmin, tf.div(lo, scale))), qmin, qmax);
    return { scale, zeroPoint };
  });
}

/**
 * `weightParams` in tf ops: symmetric parameters of a 2-D weight, per channel along `channelAxis`
 * (1: the output columns of a [in, out] kernel, 0: the rows of an embedding table) or per tensor.
 */
export function weightParamTensors(w: tf.Tensor, spec: QuantizerSpec, channelAxis: 0 | 1 = 1): { scale: tf.Tensor; zeroPoint: tf.Tensor } {
  return tf.tidy(() => {
    const reduce = spec.perChannel ? (channelAxis === 1 ? 0 : 1) : undefined;
    const min = reduce === undefined ? tf.min(w) : tf.min(w, reduce, true);
    const max = reduce === undefined ? tf.max(w) : tf.max(w, reduce, true);
    return paramTensorsFromRange(min, max, spec);
  });
}

/** Min and max of a [rows, cols] matrix per column (axis 1), per row (axis 0) or overall (-1). */
function observeRange(data: Float32Array, shape: number[], axis: number): { min: Float32Array; max: Float32Array } {
  if (axis === -1) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of data) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return { min: Float32Array.of(lo), max: Float32Array.of(hi) };
  }
  if (shape.length !== 2) throw new Error(`per-channel range needs a 2-D tensor, got shape [${shape}]`);
  const [rows, cols] = shape;
  const n = axis === 1 ? cols : rows;
  const min = new Float32Array(n).fill(Infinity);
  const max = new Float32Array(n).fill(-Infinity);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = data[r * cols + c];
      const ch = axis === 1 ? c : r;
      if (v < min[ch]) min[ch] = v;
      if (v > max[ch]) max[ch] = v;
    }
  }
  return { min, max };
}

/** Weight quantization parameters, per output channel (axis 1 of a [in, out] kernel) or per tensor. */
export function weightParams(data: Float32Array, shape: number[], spec: QuantizerSpec, channelAxis = 1): QuantParams {
  const { min, max } = observeRange(data, shape, spec.perChannel ? channelAxis : -1);
  return paramsFromRange(min, max, spec, channelAxis);
}

function channelOf(i: number, shape: number[], axis: number): number {
  if (axis === -1) return 0;
  const cols = shape[1];
  return axis === 1 ? i % cols : Math.floor(i / cols);
}

/** Float -> integers: clamp(roundHalfEven(x / scale) + zeroPoint, qmin, qmax), in float32. */
export function quantizeArray(data: Float32Array, shape: number[], p: QuantParams, spec: QuantizerSpec): Int32Array {
  const { qmin, qmax } = qRange(spec);
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const c = channelOf(i, shape, p.axis);
    const q = roundHalfEven(f32(data[i] / p.scale[c])) + p.zeroPoint[c];
    out[i] = q < qmin ? qmin : q > qmax ? qmax : q;
  }
  return out;
}

/** Integers -> float: (q - zeroPoint) * scale, in float32. */
export function dequantizeArray(q: Int32Array, shape: number[], p: QuantParams): Float32Array {
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) {
    const c = channelOf(i, shape, p.axis);
    out[i] = f32((q[i] - p.zeroPoint[c]) * p.scale[c]);
  }
  return out;
}

/** Broadcastable [1, n] / [n, 1] / scalar tensors of a params' scale and zero point for a 2-D input. */
function paramTensors(p: QuantParams): { scale: tf.Tensor; zeroPoint: tf.Tensor } {
  const shape = p.axis === 1 ? [1, p.scale.length] : p.axis === 0 ? [p.scale.length, 1] : [];
  return {
    scale: tf.tensor(p.scale, shape, 'float32'),
    zeroPoint: tf.tensor(Float32Array.from(p.zeroPoint), shape, 'float32'),
  };
}

/**
 * Fake quantization (quantize then dequantize) in tf ops with a straight-through estimator: the
 * gradient passes unchanged where x fell inside the representable range and is zero where it was
 * clipped (the clipped STE used by Q8BERT-style QAT). Scale and zero point are tensors that
 * broadcast against x and receive no gradient.
 */
export function fakeQuantizeWith(x: tf.Tensor, scale: tf.Tensor, zeroPoint: tf.Tensor, spec: QuantizerSpec): tf.Tensor {
  const { qmin, qmax } = qRange(spec);
  const forward = (input: tf.Tensor, save: tf.GradSaveFunc) => {
    const unclipped = tf.add(tf.round(tf.div(input, scale)), zeroPoint);
    const q = tf.clipByValue(unclipped, qmin, qmax);
    const inRange = tf.cast(tf.logicalAnd(tf.greaterEqual(unclipped, qmin), tf.lessEqual(unclipped, qmax)), 'float32');
    save([inRange]);
    return { value: tf.mul(tf.sub(q, zeroPoint), scale), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]) };
  };
  return tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0])(x);
}

/** Fake quantization with fixed parameters (the eval forward of a quantized model). */
export function fakeQuantize(x: tf.Tensor, p: QuantParams, spec: QuantizerSpec): tf.Tensor {
  return tf.tidy(() => {
    const { scale, zeroPoint } = paramTensors(p);
    return fakeQuantizeWith(x, scale, zeroPoint, spec);
  });
}
