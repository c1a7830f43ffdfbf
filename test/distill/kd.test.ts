import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { kdLoss } from '../../src/distill/kd.js';
import { useTestBackend } from '../helpers.js';

beforeAll(async () => {
  await useTestBackend();
});

function softmax(xs: number[], t: number): number[] {
  const m = Math.max(...xs.map((x) => x / t));
  const e = xs.map((x) => Math.exp(x / t - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** The definition, in plain float64: T^2 * mean over rows of KL(p_teacher || p_student). */
function reference(student: number[][], teacher: number[][], t: number): number {
  let total = 0;
  for (let r = 0; r < student.length; r++) {
    const ps = softmax(student[r], t);
    const pt = softmax(teacher[r], t);
    total += pt.reduce((acc, p, i) => acc + p * Math.log(p / ps[i]), 0);
  }
  return (t * t * total) / student.length;
}

describe('knowledge distillation loss', () => {
  const student = [
    [1.0, -0.5, 0.25],
    [0.3, 0.1, -2.0],
  ];
  const teacher = [
    [2.0, 0.0, -1.0],
    [0.0, 0.5, 0.5],
  ];

  it('equals a hand-computed value', () => {
    const got = kdLoss(tf.tensor2d(student), tf.tensor2d(teacher), 2).dataSync()[0];
    expect(got).toBeCloseTo(reference(student, teacher, 2), 5);
    expect(got).toBeCloseTo(0.49184, 4); // computed independently in float64 (Python) from the same definition
    expect(kdLoss(tf.tensor2d(teacher), tf.tensor2d(teacher), 2).dataSync()[0]).toBeCloseTo(0, 6);
  });

  it('has the gradient a finite-difference check gives', () => {
    const s = tf.tensor2d(student);
    const t = tf.tensor2d(teacher);
    const grad = tf
      .grad((x: tf.Tensor) => kdLoss(x as tf.Tensor2D, t, 2))(s)
      .arraySync() as number[][];
    const h = 1e-4;
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < 3; c++) {
        const plus = student.map((row) => [...row]);
        const minus = student.map((row) => [...row]);
        plus[r][c] += h;
        minus[r][c] -= h;
        const fd = (reference(plus, teacher, 2) - reference(minus, teacher, 2)) / (2 * h);
        expect(grad[r][c]).toBeCloseTo(fd, 4);
      }
    }
  });
});
