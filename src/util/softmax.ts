/**
 * Softmax pieces over the last axis with one `exp`: the vocabulary-sized losses (MLM cross-entropy,
 * KD) need both the probabilities and the log-probabilities, and on the wasm backend each `exp`
 * over [masked positions, 30522] costs ~150 ms. tf.logSoftmax computes one exp forward and another
 * in its gradient, and getting the probabilities back from it a third.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface SoftmaxParts {
  /** softmax(x), rows summing to 1. */
  p: tf.Tensor2D;
  /** log softmax(x) = x - max - log(sum exp(x - max)). */
  logP: tf.Tensor2D;
}

/** Call inside a tidy (or a customGrad forward): the intermediates are left to it. */
export function softmaxParts(x: tf.Tensor2D): SoftmaxParts {
  const shifted = tf.sub(x, tf.max(x, -1, true));
  const e = tf.exp(shifted);
  const z = tf.sum(e, -1, true);
  return { p: tf.div(e, z), logP: tf.sub(shifted, tf.log(z)) };
}
