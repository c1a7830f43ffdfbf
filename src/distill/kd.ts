/**
 * Knowledge distillation loss of Prune OFA / Hinton et al.:
 *   KD = T^2 * KL(softmax(teacher / T) || softmax(student / T)), averaged over rows.
 * The T^2 factor keeps the gradient scale independent of the temperature.
 */
import * as tf from '@tensorflow/tfjs-core';

export function kdLoss(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const logPs = tf.logSoftmax(tf.div(studentLogits, temperature));
    const logPt = tf.logSoftmax(tf.div(teacherLogits, temperature));
    const kl = tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs)), -1);
    return tf.mul(tf.mean(kl), temperature * temperature) as tf.Scalar;
  });
}

/** Mean squared error between two hidden-state tensors of the same shape. */
export function hiddenMse(student: tf.Tensor, teacher: tf.Tensor): tf.Scalar {
  return tf.mean(tf.squaredDifference(student, teacher)) as tf.Scalar;
}
