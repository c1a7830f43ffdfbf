import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  dequantizeArray,
  embeddingSpecOf,
  fakeQuantize,
  INT4_EMBEDDINGS,
  INT8_WEIGHTS,
  paramsFromRange,
  qRange,
  quantizeArray,
  roundHalfEven,
  UINT8_ACTIVATIONS,
  weightParams,
} from '../../src/quant/quantize.js';
import { Rng } from '../../src/util/rng.js';
import { useTestBackend } from '../helpers.js';

beforeAll(async () => {
  await useTestBackend();
});

function randomMatrix(rows: number, cols: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: rows * cols }, () => r.normal() * (1 + r.int(3)));
}

describe('quantize / dequantize', () => {
  it('rounds half to even like ONNX QuantizeLinear', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2, 3]);
  });

  it('has ranges int8 [-127, 127] (narrow) and uint8 [0, 255]', () => {
    expect(qRange(INT8_WEIGHTS)).toEqual({ qmin: -127, qmax: 127 });
    expect(qRange({ ...INT8_WEIGHTS, narrowRange: false })).toEqual({ qmin: -128, qmax: 127 });
    expect(qRange(UINT8_ACTIVATIONS)).toEqual({ qmin: 0, qmax: 255 });
  });

  it('derives 4..8-bit ranges from bits: int4 [-7, 7] narrow, [-8, 7] full, uint4 [0, 15]; rejects other widths', () => {
    expect(qRange(INT4_EMBEDDINGS)).toEqual({ qmin: -7, qmax: 7 });
    expect(qRange({ ...INT4_EMBEDDINGS, narrowRange: false })).toEqual({ qmin: -8, qmax: 7 });
    expect(qRange({ ...UINT8_ACTIVATIONS, bits: 4 })).toEqual({ qmin: 0, qmax: 15 });
    expect(qRange({ ...INT8_WEIGHTS, bits: 6 })).toEqual({ qmin: -31, qmax: 31 });
    for (const b of [3, 9, 4.5]) expect(() => qRange({ ...INT8_WEIGHTS, bits: b as 8 })).toThrow(`quantizer bits must be an integer in 4..8, got ${b}`);
  });

  it("quantizes a table per row to 4 bits: integers in [-7, 7], each row's largest magnitude at +-7, within half a step", () => {
    const shape = [40, 16];
    const w = randomMatrix(40, 16, 7);
    const p = weightParams(w, shape, INT4_EMBEDDINGS, 0);
    expect(p.scale).toHaveLength(40);
    const q = quantizeArray(w, shape, p, INT4_EMBEDDINGS);
    expect(Math.min(...q)).toBe(-7);
    expect(Math.max(...q)).toBe(7);
    for (let r = 0; r < 40; r++) expect(Math.max(...Array.from(q.slice(r * 16, r * 16 + 16), Math.abs))).toBe(7);
    const back = dequantizeArray(q, shape, p);
    for (let i = 0; i < w.length; i++) expect(Math.abs(back[i] - w[i])).toBeLessThanOrEqual(p.scale[Math.floor(i / 16)] / 2 + 1e-6);
    const viaTf = fakeQuantize(tf.tensor2d(w, [40, 16]), p, INT4_EMBEDDINGS).dataSync();
    expect(Array.from(viaTf)).toEqual(Array.from(back));
  });

  it("takes the tables' spec from embeddingSpec, or weightSpec where a quantization predates it", () => {
    expect(embeddingSpecOf({ weightSpec: INT8_WEIGHTS })).toBe(INT8_WEIGHTS);
    expect(embeddingSpecOf({ weightSpec: INT8_WEIGHTS, embeddingSpec: INT4_EMBEDDINGS })).toBe(INT4_EMBEDDINGS);
  });

  it('round-trips per-channel weights within half a step of each channel', () => {
    const shape = [24, 10];
    const w = randomMatrix(24, 10, 1);
    const p = weightParams(w, shape, INT8_WEIGHTS, 1);
    expect(p.scale).toHaveLength(10);
    expect(Array.from(p.zeroPoint).every((z) => z === 0)).toBe(true);
    const q = quantizeArray(w, shape, p, INT8_WEIGHTS);
    expect(Math.max(...q)).toBeLessThanOrEqual(127);
    expect(Math.min(...q)).toBeGreaterThanOrEqual(-127);
    const back = dequantizeArray(q, shape, p);
    for (let i = 0; i < w.length; i++) expect(Math.abs(back[i] - w[i])).toBeLessThanOrEqual(p.scale[i % 10] / 2 + 1e-7);
    // The largest magnitude of each channel maps to +-127 exactly.
    for (let c = 0; c < 10; c++) {
      let best = 0;
      for (let r = 0; r < 24; r++) if (Math.abs(w[r * 10 + c]) > Math.abs(w[best * 10 + c])) best = r;
      expect(Math.abs(q[best * 10 + c])).toBe(127);
    }
    // Zeros stay exactly zero (pruned weights remain pruned after quantization).
    const z = Float32Array.from(w, (v, i) => (i % 3 === 0 ? 0 : v));
    const qz = quantizeArray(z, shape, weightParams(z, shape, INT8_WEIGHTS, 1), INT8_WEIGHTS);
    for (let i = 0; i < z.length; i += 3) expect(qz[i]).toBe(0);
  });

  it('round-trips activations asymmetrically with 0 exact', () => {
    const x = Float32Array.from({ length: 200 }, (_, i) => -1.3 + (i * 7.1) / 199);
    const p = paramsFromRange([-1.3], [5.8], UINT8_ACTIVATIONS, -1);
    expect(p.zeroPoint[0]).toBe(Math.round(1.3 / p.scale[0]));
    const back = dequantizeArray(quantizeArray(x, [200], p, UINT8_ACTIVATIONS), [200], p);
    for (let i = 0; i < x.length; i++) expect(Math.abs(back[i] - x[i])).toBeLessThanOrEqual(p.scale[0] / 2 + 1e-6);
    expect(dequantizeArray(quantizeArray(Float32Array.of(0), [1], p, UINT8_ACTIVATIONS), [1], p)[0]).toBe(0);
  });

  it('fake-quantizes in tfjs to exactly the values the exporter computes', () => {
    const shape = [32, 16];
    const w = randomMatrix(32, 16, 4);
    const p = weightParams(w, shape, INT8_WEIGHTS, 1);
    const viaTf = fakeQuantize(tf.tensor2d(w, [32, 16]), p, INT8_WEIGHTS).dataSync();
    const viaArrays = dequantizeArray(quantizeArray(w, shape, p, INT8_WEIGHTS), shape, p);
    expect(Array.from(viaTf)).toEqual(Array.from(viaArrays));
  });

  it('passes gradients straight through inside the range and blocks them where clipped', () => {
    const p = paramsFromRange([-1], [1], UINT8_ACTIVATIONS, -1);
    const x = tf.tensor1d([-3, -0.5, 0, 0.7, 2.5]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(fakeQuantize(t, p, UINT8_ACTIVATIONS), tf.tensor1d([1, 2, 3, 4, 5]))))(x);
    expect(Array.from(g.dataSync())).toEqual([0, 2, 3, 4, 0]);
  });
});
