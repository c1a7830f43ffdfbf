import * as tf from '@tensorflow/tfjs-core';

let counter = 0;

/**
 * A tf.Variable made from `init`, which is then released: tf.variable() keeps its own reference to
 * the data, so without the dispose the initial tensor would leak. Names get a unique suffix because
 * tfjs rejects two live variables with one name (a teacher and a student share weight names).
 */
export function makeVariable(init: tf.Tensor, trainable: boolean, name?: string): tf.Variable {
  const v = tf.variable(init, trainable, name ? `${name}#${++counter}` : undefined);
  init.dispose();
  return v;
}
