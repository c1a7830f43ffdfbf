import { describe, expect, it } from 'vitest';
import { initWeights } from '../../src/model/bert.js';
import { defaultConfig } from '../../src/model/config.js';
import { EMB, encoderLinearKernels } from '../../src/model/weights.js';
import type { ModelSnapshot } from '../../src/model/snapshot.js';
import { INT4_EMBEDDINGS, INT8_WEIGHTS, paramsFromRange, UINT8_ACTIVATIONS, weightParams } from '../../src/quant/quantize.js';
import type { ModelQuantization } from '../../src/quant/types.js';
import { exportOnnx, OnnxExportError } from '../../src/onnx/index.js';

const CFG = defaultConfig({ vocabSize: 64, hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 16, numLabels: 2 });
const Q_KERNEL = 'encoder/layer_0/attention/query/kernel';

function snapshot(): ModelSnapshot {
  return { config: { ...CFG }, weights: initWeights(CFG, 3, { mlmHead: false }) };
}

function quantization(s: ModelSnapshot): ModelQuantization {
  const kernels = encoderLinearKernels(0);
  return {
    weightSpec: INT8_WEIGHTS,
    activationSpec: UINT8_ACTIVATIONS,
    weights: Object.fromEntries(kernels.map((k) => [k, weightParams(s.weights.get(k)!.data, s.weights.get(k)!.shape, INT8_WEIGHTS)])),
    inputs: Object.fromEntries(kernels.map((k) => [k, paramsFromRange([-3], [3], UINT8_ACTIVATIONS, -1)])),
    embeddings: {},
    bias: 'float32',
  };
}

/** The error exportOnnx throws (it must throw before producing any bytes). */
function exportError(input: Parameters<typeof exportOnnx>[0]): OnnxExportError {
  let result: unknown;
  try {
    result = exportOnnx(input);
  } catch (e) {
    expect(e).toBeInstanceOf(OnnxExportError);
    return e as OnnxExportError;
  }
  throw new Error(`expected exportOnnx to throw, it returned ${(result as { bytes: Uint8Array }).bytes.length} bytes`);
}

describe('exporter checks', () => {
  it('accepts a well-formed snapshot (and ignores MLM weights the graph does not use)', () => {
    const s = { config: { ...CFG }, weights: initWeights(CFG, 3) };
    expect(exportOnnx({ snapshot: s, format: 'fp32' }).bytes.length).toBeGreaterThan(0);
    expect(exportOnnx({ snapshot: s, format: 'int8', quantization: quantization(s) }).bytes.length).toBeGreaterThan(0);
  });

  it('rejects a wrong shape, naming the tensor and both shapes', () => {
    const s = snapshot();
    s.weights.set(Q_KERNEL, { shape: [32, 16], data: new Float32Array(512) });
    const e = exportError({ snapshot: s, format: 'fp32' });
    expect(e.message).toContain(`weight '${Q_KERNEL}': expected shape [32, 32], found [32, 16]`);
  });

  it('rejects data whose length does not match its shape, missing weights and non-finite values', () => {
    const s = snapshot();
    s.weights.set('pooler/bias', { shape: [32], data: new Float32Array(31) });
    s.weights.delete('classifier/kernel');
    const gamma = s.weights.get('embeddings/layer_norm/gamma')!;
    gamma.data[5] = NaN;
    const e = exportError({ snapshot: s, format: 'fp32' });
    expect(e.problems).toEqual([
      "weight 'embeddings/layer_norm/gamma': value NaN at flat index 5 is not finite",
      "weight 'pooler/bias': shape [32] needs 32 values, data has 31",
      "weight 'classifier/kernel' is missing (expected shape [32, 2])",
    ]);
  });

  it('rejects int8 without quantization parameters', () => {
    expect(exportError({ snapshot: snapshot(), format: 'int8' }).message).toMatch(/format 'int8' needs quantization parameters/);
  });

  it('rejects int32 biases as not supported, with the reason', () => {
    const s = snapshot();
    const e = exportError({ snapshot: s, format: 'int8', quantization: { ...quantization(s), bias: 'int32' } });
    expect(e.message).toMatch(/bias 'int32' is not supported.*keeps biases in float/);
  });

  it('rejects bad quantization parameters, naming the tensor', () => {
    const s = snapshot();
    const q = quantization(s);
    const wp = q.weights[Q_KERNEL];
    q.weights[Q_KERNEL] = { ...wp, scale: wp.scale.slice(0, 16), zeroPoint: wp.zeroPoint.slice(0, 16) };
    const kp = q.weights['encoder/layer_0/attention/key/kernel'];
    kp.scale[3] = 0;
    delete q.inputs['encoder/layer_0/attention/value/kernel'];
    q.inputs['encoder/layer_0/output/kernel'] = { ...q.inputs['encoder/layer_0/output/kernel'], zeroPoint: Int32Array.of(300) };
    q.weights['classifier/kernel'] = weightParams(s.weights.get('classifier/kernel')!.data, [32, 2], INT8_WEIGHTS);
    q.inputs['classifier/kernel'] = q.inputs[Q_KERNEL];
    const e = exportError({ snapshot: s, format: 'int8', quantization: q });
    expect(e.problems).toEqual(
      expect.arrayContaining([
        `weight params of '${Q_KERNEL}': expected 32 scale(s) (one per channel), found 16`,
        "weight params of 'encoder/layer_0/attention/key/kernel': scale[3] = 0 is not a positive finite number",
        "quantization for 'encoder/layer_0/attention/value/kernel': weight params present but input (activation) params missing",
        "input params of 'encoder/layer_0/output/kernel': zero point[0] = 300 is outside uint8 [0, 255]",
        "quantization for 'classifier/kernel': only the encoder's Linear kernels can be quantized",
      ]),
    );
    expect(e.problems).toHaveLength(5);
  });

  it('rejects a per-channel activation and a reserved metadata key with another value', () => {
    const s = snapshot();
    const q = quantization(s);
    q.inputs[Q_KERNEL] = paramsFromRange(new Float32Array(32).fill(-1), new Float32Array(32).fill(1), { ...UINT8_ACTIVATIONS, perChannel: true }, 1);
    expect(exportError({ snapshot: s, format: 'int8', quantization: q }).message).toMatch(/input params must be per tensor \(axis -1\), got axis 1/);
    expect(exportError({ snapshot: s, format: 'fp32', metadata: { format: 'int8' } }).message).toMatch(/metadata 'format' is set by the exporter/);
    expect(exportError({ snapshot: s, format: 'fp32', metadata: { encoder_sparsity: '0.9' } }).message).toMatch(
      /metadata 'encoder_sparsity' is written by the exporter from what it stores/,
    );
  });

  it('checks the embedding spec on its own: 4..8 bits, symmetric; kernels stay 8-bit', () => {
    const s = snapshot();
    const word = s.weights.get(EMB.word)!;
    const tables = (spec: typeof INT4_EMBEDDINGS) => ({ [EMB.word]: weightParams(word.data, word.shape, spec, 0) });
    const q4: ModelQuantization = { ...quantization(s), embeddingSpec: INT4_EMBEDDINGS, embeddings: tables(INT4_EMBEDDINGS) };
    expect(exportOnnx({ snapshot: s, format: 'int8', quantization: q4 }).bytes.length).toBeGreaterThan(0);
    expect(exportError({ snapshot: s, format: 'int8', quantization: { ...q4, embeddingSpec: { ...INT4_EMBEDDINGS, bits: 3 as 4 } } }).problems).toEqual([
      'quantization.embeddingSpec: bits must be an integer in 4..8, got 3',
    ]);
    expect(exportError({ snapshot: s, format: 'int8', quantization: { ...q4, embeddingSpec: { ...INT4_EMBEDDINGS, symmetric: false } } }).problems).toEqual([
      'quantization.embeddingSpec: embedding tables are quantized symmetric (int8 storage, zero point 0); got symmetric: false',
      `embedding params of '${EMB.word}': dtype 'int8' does not match the quantizer spec (asymmetric -> uint8)`,
    ]);
    expect(exportError({ snapshot: s, format: 'int8', quantization: { ...q4, weightSpec: { ...INT8_WEIGHTS, bits: 4 } } }).message).toMatch(
      /quantization.weightSpec: only 8-bit quantization can be exported, got bits 4/,
    );
  });
});
