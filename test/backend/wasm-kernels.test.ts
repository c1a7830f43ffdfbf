/**
 * The wasm backend's replacement kernels (src/backend/wasm-kernels.ts) against plain JavaScript:
 * matMul with every transpose combination, single and batched (the batched path runs XNNPACK on
 * views into the operands' memory, so a wrong offset would show here), and the embedding gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/select.js';
import { Rng } from '../../src/util/rng.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

function random(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
    shape,
  );
}

/** a [batch, m, k] x b [batch, k, n] in float64 loops, after applying the transpose flags. */
function reference(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): Float64Array {
  const A = a.arraySync() as number[][][];
  const B = b.arraySync() as number[][][];
  const at = (x: number[][]) => x[0].map((_, j) => x.map((row) => row[j]));
  const out: number[] = [];
  A.forEach((ai, i) => {
    const x = ta ? at(ai) : ai;
    const y = tb ? at(B[i]) : B[i];
    for (const row of x) for (let j = 0; j < y[0].length; j++) out.push(row.reduce((s, v, kk) => s + v * y[kk][j], 0));
  });
  return Float64Array.from(out);
}

describe('wasm matMul', () => {
  for (const [ta, tb] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    it(`matches float64 loops with transposeA=${ta}, transposeB=${tb}, for 1 and 6 products`, () => {
      for (const batch of [1, 6]) {
        const [m, k, n] = [5, 7, 3];
        const a = random([batch, ta ? k : m, ta ? m : k], 1 + batch);
        const b = random([batch, tb ? n : k, tb ? k : n], 2 + batch);
        const before = tf.memory().numTensors;
        const got = tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, ta, tb);
        expect(got.shape).toEqual([batch, m, n]);
        const want = reference(a, b, ta, tb);
        const data = got.dataSync();
        for (let i = 0; i < want.length; i++) expect(data[i]).toBeCloseTo(want[i], 4);
        got.dispose();
        expect(tf.memory().numTensors).toBe(before);
      }
    });
  }

  it('keeps 4-D attention shapes ([batch, heads, seq, d]) and their gradients', () => {
    const q = random([2, 3, 4, 8], 7);
    const kk = random([2, 3, 4, 8], 8);
    const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x as tf.Tensor4D, y as tf.Tensor4D, false, true)));
    const [gq, gk] = tf.grads(f)([q, kk]);
    // The same through 2-D products, one (batch, head) at a time.
    const qs = tf.unstack(tf.reshape(q, [6, 4, 8]));
    const ks = tf.unstack(tf.reshape(kk, [6, 4, 8]));
    const scores = tf
      .matMul(q as tf.Tensor4D, kk as tf.Tensor4D, false, true)
      .reshape([6, 4, 4])
      .arraySync() as number[][][];
    qs.forEach((qi, i) => {
      const s = tf.matMul(qi as tf.Tensor2D, ks[i] as tf.Tensor2D, false, true).arraySync() as number[][];
      s.forEach((row, r) => row.forEach((v, c) => expect(scores[i][r][c]).toBeCloseTo(v, 4)));
      // d/dq sum(S^2) = 2 S k
      const dq = tf.matMul(tf.mul(2, tf.tensor(s)) as tf.Tensor2D, ks[i] as tf.Tensor2D).arraySync() as number[][];
      const gqi = (tf.reshape(gq, [6, 4, 8]).arraySync() as number[][][])[i];
      dq.forEach((row, r) => row.forEach((v, c) => expect(gqi[r][c]).toBeCloseTo(v, 3)));
    });
    expect(gk.shape).toEqual([2, 3, 4, 8]);
  });
});

describe('single products on the wasm backend', () => {
  it('keep no packed copy of a weight matrix after the call, with the shapes and values of a plain product', () => {
    if (tf.getBackend() !== 'wasm') return;
    const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
    const data = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * s));
    const w = tf.tensor2d(data(512 * 512, 0.7), [512, 512]);
    const x = tf.tensor2d(data(8 * 512, 0.3), [8, 512]);
    const ref = (() => {
      const xd = x.dataSync();
      const wd = w.dataSync();
      const out = new Float64Array(8 * 512);
      for (let i = 0; i < 8; i++) for (let k = 0; k < 512; k++) for (let j = 0; j < 512; j++) out[i * 512 + j] += xd[i * 512 + k] * wd[k * 512 + j];
      return out;
    })();
    // Weights kept alive, as a model's are: were XNNPACK's packed copy of each kept with it (the
    // module's operator cache), the heap would grow by twice their bytes (384 MB), not once.
    const n = 48;
    const before = heap();
    const weights = Array.from({ length: n }, (_, i) => tf.tidy(() => tf.add(tf.tile(w, [2, 2]), i * 1e-3)));
    for (const wi of weights) tf.dispose(tf.matMul(tf.tile(x, [1, 2]), wi));
    const grown = heap() - before;
    const weightBytes = n * 1024 * 1024 * 4;
    expect(grown).toBeGreaterThan(weightBytes * 0.9);
    expect(grown).toBeLessThan(weightBytes * 1.5);
    tf.dispose(weights);
    const y = tf.matMul(x, w);
    const y3 = tf.matMul(tf.reshape(x, [1, 8, 512]), w);
    const y3b = tf.matMul(x, tf.reshape(w, [1, 512, 512]));
    expect(y.shape).toEqual([8, 512]);
    expect(y3.shape).toEqual([1, 8, 512]);
    expect(y3b.shape).toEqual([1, 8, 512]);
    const yd = y.dataSync();
    let err = 0;
    for (let i = 0; i < yd.length; i++) err = Math.max(err, Math.abs(yd[i] - ref[i]));
    expect(err).toBeLessThan(1e-3);
    expect(Array.from(y3.dataSync())).toEqual(Array.from(yd));
    tf.dispose([w, x, y, y3, y3b]);
  });
});

describe('products over zero terms', () => {
  it('are zeros (XNNPACK refuses k = 0; a thread share without masked tokens has such weight gradients)', () => {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const a = tf.ones(ta ? [0, 3] : [3, 0]);
      const b = tf.ones(tb ? [4, 0] : [0, 4]);
      // Fill freed memory with non-zeros first, so uninitialised output would show.
      tf.dispose(tf.fill([3, 4], 7));
      const y = tf.matMul(a, b, ta, tb);
      expect(y.shape).toEqual([3, 4]);
      expect(Array.from(y.dataSync())).toEqual(new Array(12).fill(0));
      tf.dispose([a, b, y]);
    }
  });
});
