import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { csrMatMul, runSparseLinearBench, toCsr } from '../../src/bench/sparse-linear.js';
import { Rng } from '../../src/util/rng.js';
import { useTestBackend } from '../helpers.js';

beforeAll(async () => {
  await useTestBackend();
});

describe('sparse Linear product', () => {
  it('keeps exactly the non-zeros, row by row', () => {
    const w = Float32Array.from([0, 2, 0, 0, 0, 0, 3, 0, 4]);
    const csr = toCsr(w, 3, 3);
    expect(Array.from(csr.rowStart)).toEqual([0, 1, 1, 3]);
    expect(Array.from(csr.cols)).toEqual([1, 0, 2]);
    expect(Array.from(csr.values)).toEqual([2, 3, 4]);
  });

  it('equals the dense matMul of the same pruned weight', () => {
    const rng = new Rng(1);
    const [rows, inRows, outCols] = [9, 16, 12];
    const x = Float32Array.from({ length: rows * inRows }, () => rng.normal());
    const w = Float32Array.from({ length: inRows * outCols }, () => (rng.next() < 0.8 ? 0 : rng.normal()));
    const got = csrMatMul(x, rows, toCsr(w, inRows, outCols));
    const want = tf.matMul(tf.tensor2d(x, [rows, inRows]), tf.tensor2d(w, [inRows, outCols])).dataSync();
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 4);
  });

  it('times every encoder shape at every sparsity', async () => {
    const r = await runSparseLinearBench({ hidden: 16, tokens: 8, sparsities: [0.5, 0.9], runs: 1 });
    expect(r.rows.map((x) => x.shape)).toEqual(['[8,16]x[16,16]', '[8,16]x[16,16]', '[8,16]x[16,64]', '[8,16]x[16,64]', '[8,64]x[64,16]', '[8,64]x[64,16]']);
    for (const x of r.rows) {
      expect(x.dense_ms).toBeGreaterThanOrEqual(0);
      expect(x.sparse_ms).toBeGreaterThanOrEqual(0);
    }
  });
});
