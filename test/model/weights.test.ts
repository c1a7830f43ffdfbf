import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/model/config.js';
import { EMBEDDING_TABLES, ENCODER_LINEAR_GLOBS, encoderLinearKernels, isEncoderLinearKernel, weightRole, weightShapes } from '../../src/model/weights.js';
import { sparsityTotals, zeroFraction } from '../../src/model/sparsity.js';

describe('weight names', () => {
  it('says "encoder Linear kernel" one way: names, role test and include globs select the same weights', () => {
    const cfg = defaultConfig({ numLayers: 3, numLabels: 2 });
    const names = weightShapes(cfg).map(([n]) => n);
    const listed = [0, 1, 2].flatMap(encoderLinearKernels);
    expect(listed).toHaveLength(18);
    expect(names.filter(isEncoderLinearKernel)).toEqual(listed);
    expect(names.filter((n) => weightRole(n) === 'encoder-linear')).toEqual(listed);
    const glob = picomatch([...ENCODER_LINEAR_GLOBS]);
    expect(names.filter((n) => glob(n))).toEqual(listed);
    // Not biases, LayerNorm, the pooler or the MLM transform.
    expect(isEncoderLinearKernel('encoder/layer_0/output/bias')).toBe(false);
    expect(isEncoderLinearKernel('encoder/layer_0/attention/layer_norm/gamma')).toBe(false);
    expect(isEncoderLinearKernel('mlm/transform/kernel')).toBe(false);
  });

  it('has three embedding tables, and only they have the embedding role', () => {
    const names = weightShapes(defaultConfig()).map(([n]) => n);
    expect(names.filter((n) => weightRole(n) === 'embedding')).toEqual([...EMBEDDING_TABLES]);
    expect(EMBEDDING_TABLES).toEqual(['embeddings/word_embeddings', 'embeddings/position_embeddings', 'embeddings/token_type_embeddings']);
  });
});

describe('sparsity totals', () => {
  it('sum parameters and non-zeros and give the zero fraction (0 for nothing)', () => {
    expect(
      sparsityTotals([
        { params: 10, nonZeros: 1 },
        { params: 30, nonZeros: 3 },
      ]),
    ).toEqual({ params: 40, nonZeros: 4, sparsity: 1 - 4 / 40 });
    expect(sparsityTotals([])).toEqual({ params: 0, nonZeros: 0, sparsity: 0 });
    expect(zeroFraction(8, 8)).toBe(0);
  });
});
