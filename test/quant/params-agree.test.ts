import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { quantizationScheme } from '../../src/onnx/metadata.js';
import { describeQuantization } from '../../src/quant/scheme.js';
import {
  INT4_EMBEDDINGS,
  INT8_WEIGHTS,
  paramsFromRange,
  paramTensorsFromRange,
  UINT8_ACTIVATIONS,
  weightParams,
  weightParamTensors,
} from '../../src/quant/quantize.js';
import { quantizationSchemeLine } from '../../src/quant/scheme.js';
import type { ModelQuantization, QuantizerSpec } from '../../src/quant/types.js';
import { Rng } from '../../src/util/rng.js';
import { useTestBackend } from '../helpers.js';

// QAT computes its fake-quantization parameters in tf ops inside the step; the exporter computes
// them from arrays. The integers in the file are the trained integers only if the two agree bit
// for bit, on every spec and on the awkward cases (a pruned-away column, one-signed ranges).

beforeAll(async () => {
  await useTestBackend();
});

const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

function weights(rows: number, cols: number, seed: number): Float32Array {
  const r = new Rng(seed);
  const data = Float32Array.from({ length: rows * cols }, () => r.normal() * 0.05 * (1 + r.int(4)));
  for (let i = 0; i < rows; i++) data[i * cols + 2] = 0; // a fully pruned output channel
  for (let j = 0; j < cols; j++) data[3 * cols + j] = 0; // and a fully pruned row
  data[5 * cols + 4] = Math.abs(data[5 * cols + 4]) + 0.3; // a channel whose extreme is positive
  return data;
}

describe('QAT parameters (tf ops) = exporter parameters (arrays)', () => {
  const specs: Array<[string, QuantizerSpec]> = [
    ['int8 per channel, narrow', INT8_WEIGHTS],
    ['int8 per channel, full', { ...INT8_WEIGHTS, narrowRange: false }],
    ['int8 per tensor', { ...INT8_WEIGHTS, perChannel: false }],
    ['int4 per row/channel, narrow (4-bit embedding tables)', INT4_EMBEDDINGS],
  ];
  for (const [label, spec] of specs) {
    for (const axis of [1, 0] as const) {
      it(`weights: ${label}, channels along axis ${axis}`, () => {
        const shape = [16, 12];
        const data = weights(shape[0], shape[1], 11 + axis);
        const exporter = weightParams(data, shape, spec, axis);
        const t = tf.tensor2d(data, shape as [number, number]);
        const qat = weightParamTensors(t, spec, axis);
        expect(bits(qat.scale.dataSync())).toEqual(bits(exporter.scale));
        expect(Array.from(qat.zeroPoint.dataSync())).toEqual(Array.from(exporter.zeroPoint));
        tf.dispose([t, qat.scale, qat.zeroPoint]);
      });
    }
  }

  it('activations: uint8 from observed ranges, including one-signed and empty ranges', () => {
    const r = new Rng(5);
    const ranges: Array<[number, number]> = [
      [-1.7, 3.2],
      [0.2, 5],
      [-4, -0.5],
      [0, 0],
      [-1e-3, 1e-3],
    ];
    for (let i = 0; i < 200; i++) {
      const a = r.normal() * 3;
      ranges.push([Math.min(a, a + r.normal()), Math.max(a, a + r.normal())]);
    }
    for (const [lo, hi] of ranges) {
      const [min, max] = [Math.fround(lo), Math.fround(hi)];
      const exporter = paramsFromRange([min], [max], UINT8_ACTIVATIONS, -1);
      const qat = paramTensorsFromRange(tf.scalar(min), tf.scalar(max), UINT8_ACTIVATIONS);
      expect(bits(qat.scale.dataSync()), `[${min}, ${max}] scale`).toEqual(bits(exporter.scale));
      expect(Array.from(qat.zeroPoint.dataSync()), `[${min}, ${max}] zero point`).toEqual(Array.from(exporter.zeroPoint));
      tf.dispose([qat.scale, qat.zeroPoint]);
    }
  });
});

describe('the scheme in words', () => {
  const q = (perChannel: boolean, narrowRange: boolean, embeddings: boolean, embeddingSpec?: QuantizerSpec): ModelQuantization => ({
    weightSpec: { ...INT8_WEIGHTS, perChannel, narrowRange },
    activationSpec: UINT8_ACTIVATIONS,
    ...(embeddingSpec ? { embeddingSpec } : {}),
    weights: {},
    inputs: {},
    embeddings: embeddings ? { 'embeddings/word': paramsFromRange([-1], [1], INT8_WEIGHTS, -1) } : {},
    bias: 'float32',
  });

  it("gives the int8 ONNX metadata line the exporter writes, with the tables' own width", () => {
    const line = (w: string, e: string) => `QDQ int8 weights (${w}), uint8 activations (per-tensor asymmetric), float32 biases, ${e}`;
    expect(quantizationScheme(q(true, true, false))).toBe(line('per-channel symmetric, [-127, 127]', 'float32 embeddings'));
    expect(quantizationScheme(q(true, false, true))).toBe(line('per-channel symmetric, [-128, 127]', 'int8 per-row embeddings'));
    expect(quantizationScheme(q(true, true, true, INT4_EMBEDDINGS))).toBe(line('per-channel symmetric, [-127, 127]', 'int4 per-row embeddings'));
    expect(quantizationSchemeLine(q(false, true, true, INT4_EMBEDDINGS))).toBe(line('per-tensor symmetric, [-127, 127]', 'int4 per-row embeddings'));
    // An embedding spec given while the tables stay float32 (the alternative file's choice) says float32.
    expect(quantizationScheme(q(true, true, false, INT4_EMBEDDINGS))).toBe(line('per-channel symmetric, [-127, 127]', 'float32 embeddings'));
  });

  it('describes the tables per field for the report', () => {
    expect(describeQuantization(q(true, true, true)).embeddings).toBe('int8 symmetric per row [-127, 127]');
    expect(describeQuantization(q(true, true, true, INT4_EMBEDDINGS)).embeddings).toBe('int4 symmetric per row [-7, 7]');
    expect(describeQuantization(q(true, true, false, INT4_EMBEDDINGS)).embeddings).toBe('float32');
  });
});
