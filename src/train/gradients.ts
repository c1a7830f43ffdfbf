/**
 * One forward + backward: the objective's loss, transformed by the hooks' loss terms, and its
 * gradients by variable name. The training loop runs this on the main thread, and a gradient
 * worker runs the very same function on its share of the batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ForwardOptions } from '../model/bert.js';
import type { LoopContext, TrainHook } from './loop.js';
import type { Batch } from './tasks.js';

export interface GradientResult {
  loss: tf.Scalar;
  /** By variable name in `trainable`. */
  grads: Map<string, tf.Tensor>;
  metrics: Map<string, tf.Scalar>;
}

export function computeGradients<B extends Batch>(
  ctx: LoopContext<B>,
  batch: B,
  hooks: TrainHook<B>[],
  fwd: ForwardOptions,
  trainable: Map<string, tf.Variable>,
): GradientResult {
  for (const h of hooks) h.prepare?.(ctx, batch);
  const metrics = new Map<string, tf.Scalar>();
  const byVarName = new Map([...trainable].map(([k, v]) => [v.name, k]));
  const { value, grads } = tf.variableGrads(() => {
    const out = ctx.objective.forward(ctx.model, batch, fwd);
    metrics.set('task_loss', tf.keep(tf.clone(out.loss)));
    let total = out.loss;
    for (const h of hooks) if (h.loss) total = h.loss(ctx, batch, out, total, metrics);
    return total;
  }, [...trainable.values()]);
  const named = new Map<string, tf.Tensor>();
  for (const [varName, g] of Object.entries(grads)) named.set(byVarName.get(varName)!, g);
  for (const h of hooks) h.release?.();
  return { loss: value, grads: named, metrics };
}
