import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig, presetNames, presetShape } from '../../src/model/config.js';
import { weightRole } from '../../src/model/weights.js';
import { classifierLogits, createModel, disposeModel, encode, mlmLogits } from '../../src/model/bert.js';
import { useTestBackend } from '../helpers.js';

beforeAll(async () => {
  await useTestBackend();
});

describe('presets', () => {
  it('covers the 24-model grid and the named models', () => {
    expect(presetNames().filter((n) => n.startsWith('L'))).toHaveLength(24);
    expect(presetShape('bert-tiny')).toEqual({ numLayers: 2, hiddenSize: 128, numHeads: 2, intermediateSize: 512 });
    expect(presetShape('bert-base')).toEqual({ numLayers: 12, hiddenSize: 768, numHeads: 12, intermediateSize: 3072 });
    expect(presetShape('L6-H256').numHeads).toBe(4);
    expect(() => presetShape('L3-H128')).toThrow(/allowed/);
  });

  it('assigns roles by name', () => {
    expect(weightRole('encoder/layer_3/attention/query/kernel')).toBe('encoder-linear');
    expect(weightRole('encoder/layer_0/output/kernel')).toBe('encoder-linear');
    expect(weightRole('encoder/layer_0/output/bias')).toBe('other');
    expect(weightRole('embeddings/word_embeddings')).toBe('embedding');
    expect(weightRole('classifier/kernel')).toBe('head');
  });
});

describe('forward', () => {
  it('produces the expected shapes and ignores padded positions', () => {
    const cfg = defaultConfig({ vocabSize: 50, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 16, numLabels: 3 });
    const model = createModel(cfg, 1);
    const ids = tf.tensor2d([[2, 5, 7, 9, 0, 0]], [1, 6], 'int32');
    const ids2 = tf.tensor2d([[2, 5, 7, 9, 33, 44]], [1, 6], 'int32');
    const types = tf.zeros([1, 6], 'int32') as tf.Tensor2D;
    const mask = tf.tensor2d([[1, 1, 1, 1, 0, 0]]);
    const a = encode(model, { inputIds: ids, tokenTypeIds: types, attentionMask: mask }, { training: false });
    const b = encode(model, { inputIds: ids2, tokenTypeIds: types, attentionMask: mask }, { training: false });
    expect(a.sequence.shape).toEqual([1, 6, 16]);
    expect(a.hidden).toHaveLength(3);
    // Real positions must not see what is in padded positions.
    const diff = tf.max(tf.abs(tf.sub(tf.slice(a.sequence, [0, 0, 0], [1, 4, 16]), tf.slice(b.sequence, [0, 0, 0], [1, 4, 16])))).dataSync()[0];
    expect(diff).toBeLessThan(1e-5);
    expect(mlmLogits(model, a.sequence, tf.tensor1d([1, 3], 'int32')).shape).toEqual([2, 50]);
    expect(classifierLogits(model, a.sequence, { training: false }).shape).toEqual([1, 3]);
    disposeModel(model);
  });
});
