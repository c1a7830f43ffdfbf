/**
 * Softmax over the last axis, with its log-normaliser, for the vocabulary-sized losses (MLM
 * cross-entropy, KD). On the wasm backend the Softmax kernel is XNNPACK's vectorised one (~1 ns per
 * element here), while Exp and Log are scalar loops (~7.5 ns): the [masked positions, 30522] rows
 * are where that matters. So the probabilities come from tf.softmax, and the log-normaliser
 * lse = log(sum(exp(x))) from its largest entry: p_max = exp(max(x) - lse), so
 * lse = max(x) - log(p_max), with p_max >= 1/vocab (never an underflow).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface SoftmaxParts {
  /** softmax(x), rows summing to 1. */
  p: tf.Tensor2D;
  /** log(sum(exp(x))) per row, [rows, 1]: log softmax(x) = x - lse. */
  lse: tf.Tensor2D;
}

/** Call inside a tidy (or a customGrad forward): the intermediates are left to it. */
export function softmaxParts(x: tf.Tensor2D): SoftmaxParts {
  const p = tf.softmax(x);
  const lse = tf.sub(tf.max(x, -1, true), tf.log(tf.max(p, -1, true))) as tf.Tensor2D;
  return { p, lse };
}
