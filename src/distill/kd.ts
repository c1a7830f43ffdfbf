/**
 * Knowledge distillation loss of Prune OFA / Hinton et al.:
 *   KD = T^2 * KL(softmax(teacher / T) || softmax(student / T)), averaged over rows.
 * The T^2 factor keeps the gradient scale independent of the temperature.
 */
import * as tf from '@tensorflow/tfjs-core';
import { softmaxParts } from '../util/softmax.js';

/**
 * The loss with its gradient written out, d KD / d student = T (p_student - p_teacher) / rows, so
 * that the [rows, vocab] work is two softmaxes (one per model) and a few elementwise ops; the
 * composed version (logSoftmax twice, exp, their gradients) runs five exps over the vocabulary. The teacher
 * is frozen: no gradient flows to its logits.
 */
export function kdLoss(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, temperature: number): tf.Scalar {
  const T = temperature;
  const rows = studentLogits.shape[0];
  const fused = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const xs = tf.div(x, T) as tf.Tensor2D;
    const xt = tf.div(teacherLogits, T) as tf.Tensor2D;
    const s = softmaxParts(xs);
    const t = softmaxParts(xt);
    // KL = sum p_t (log p_t - log p_s) = sum p_t (xt - xs) - lse_t + lse_s, as sum p_t = 1.
    const kl = tf.add(tf.sum(tf.mul(t.p, tf.sub(xt, xs)), -1), tf.reshape(tf.sub(s.lse, t.lse), [-1]));
    save([s.p, t.p]);
    return {
      value: tf.mul(tf.mean(kl), T * T) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.sub(saved[0], saved[1]), tf.mul(dy, T / rows)),
    };
  });
  return fused(studentLogits) as tf.Scalar;
}

/** Mean squared error between two hidden-state tensors of the same shape. */
export function hiddenMse(student: tf.Tensor, teacher: tf.Tensor): tf.Scalar {
  return tf.mean(tf.squaredDifference(student, teacher)) as tf.Scalar;
}
