/**
 * The fused losses (cross-entropy and KD with their gradients written out) against the composition
 * of tfjs ops they replace: same values and same gradients, on vocabulary-sized rows.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { kdLoss } from '../../src/distill/kd.js';
import { sparseCrossEntropy } from '../../src/train/tasks.js';
import { Rng } from '../../src/util/rng.js';
import { useTestBackend } from '../helpers.js';

beforeAll(async () => {
  await useTestBackend();
});

/** What the fused versions replace: tf.logSoftmax and tfjs's own gradients. */
function composedCrossEntropy(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  const [n, v] = logits.shape;
  const flat = Int32Array.from(labels, (l, i) => i * v + l);
  return tf.neg(tf.mean(tf.gather(tf.reshape(tf.logSoftmax(logits), [n * v]), tf.tensor1d(flat, 'int32')))) as tf.Scalar;
}

function composedKd(student: tf.Tensor2D, teacher: tf.Tensor2D, t: number): tf.Scalar {
  const logPs = tf.logSoftmax(tf.div(student, t));
  const logPt = tf.logSoftmax(tf.div(teacher, t));
  return tf.mul(tf.mean(tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs)), -1)), t * t) as tf.Scalar;
}

function randomLogits(rows: number, vocab: number, seed: number, scale: number): tf.Tensor2D {
  const rng = new Rng(seed);
  return tf.tensor2d(
    Float32Array.from({ length: rows * vocab }, () => rng.normal() * scale),
    [rows, vocab],
  );
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('fused losses', () => {
  const rows = 37;
  const vocab = 1000;
  const student = randomLogits(rows, vocab, 1, 3);
  const teacher = randomLogits(rows, vocab, 2, 5);
  const rng = new Rng(3);
  const labels = Int32Array.from({ length: rows }, () => rng.int(vocab));

  it('cross-entropy: the value and gradient of logSoftmax + gather', () => {
    const fused = tf.valueAndGrad((x: tf.Tensor) => sparseCrossEntropy(x as tf.Tensor2D, labels))(student);
    const ref = tf.valueAndGrad((x: tf.Tensor) => composedCrossEntropy(x as tf.Tensor2D, labels))(student);
    expect(fused.value.dataSync()[0]).toBeCloseTo(ref.value.dataSync()[0], 4);
    expect(maxAbsDiff(fused.grad, ref.grad)).toBeLessThan(1e-6);
    // The gradient of a mean cross-entropy sums to zero in every row.
    expect(Math.abs(tf.sum(fused.grad).dataSync()[0])).toBeLessThan(1e-5);
  });

  it('KD: the value and gradient of the composed KL, at several temperatures', () => {
    for (const t of [1, 2, 4]) {
      const fused = tf.valueAndGrad((x: tf.Tensor) => kdLoss(x as tf.Tensor2D, teacher, t))(student);
      const ref = tf.valueAndGrad((x: tf.Tensor) => composedKd(x as tf.Tensor2D, teacher, t))(student);
      expect(fused.value.dataSync()[0]).toBeCloseTo(ref.value.dataSync()[0], 3);
      expect(maxAbsDiff(fused.grad, ref.grad)).toBeLessThan(1e-6);
    }
  });

  it('stays finite and exact for confidently wrong rows (where softmax underflows to 0)', () => {
    const logits = tf.tensor2d([
      [0, 200, -50],
      [3, 1, 2],
    ]);
    const ce = sparseCrossEntropy(logits, Int32Array.from([0, 0])).dataSync()[0];
    const second = 3 - Math.log(Math.exp(0) + Math.exp(-2) + Math.exp(-1)) - 3; // log p of the right class in row 2
    expect(ce).toBeCloseTo((200 - second) / 2, 3);
    expect(
      Number.isFinite(
        kdLoss(
          logits,
          tf.tensor2d([
            [200, 0, 0],
            [1, 2, 3],
          ]),
          2,
        ).dataSync()[0],
      ),
    ).toBe(true);
  });

  it('keeps no tensor behind once the gradients are disposed', () => {
    const before = tf.memory().numTensors;
    const { value, grad } = tf.valueAndGrad(
      (x: tf.Tensor) => tf.add(sparseCrossEntropy(x as tf.Tensor2D, labels), kdLoss(x as tf.Tensor2D, teacher, 2)) as tf.Scalar,
    )(student);
    tf.dispose([value, grad]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
