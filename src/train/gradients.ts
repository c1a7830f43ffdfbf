/**
 * One forward + backward: the objective's loss, transformed by the hooks' loss terms, and its
 * gradients by variable name. The training loop runs this on the main thread, and a gradient
 * worker runs the very same function on its share of the batch.
 *
 * Gradient accumulation (`accumulateGradients`) runs it on micro-batches one after the other and
 * sums the results with row weights, so a batch that does not fit in memory at once (the wasm heap
 * is 32-bit) still takes one optimizer step with the full batch's mean loss and gradients.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ForwardOptions } from '../model/bert.js';
import type { LoopContext, TrainHook } from './hooks.js';
import { lossRows, splitRows } from './split.js';
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

/**
 * Gradients of `batch` computed `microBatch` rows at a time (0 or >= batchSize: all at once). Each
 * part's loss is a mean over its loss rows (masked tokens for MLM, examples for classification),
 * so the batch's mean is the row-weighted mean of the parts'; parts without loss rows (an MLM
 * micro-batch with no masked token) add nothing and are skipped.
 */
export function accumulateGradients<B extends Batch>(
  ctx: LoopContext<B>,
  batch: B,
  hooks: TrainHook<B>[],
  fwd: ForwardOptions,
  trainable: Map<string, tf.Variable>,
  microBatch = 0,
): GradientResult {
  if (microBatch <= 0 || batch.batchSize <= microBatch) return computeGradients(ctx, batch, hooks, fwd, trainable);
  const parts = splitRows(batch, microBatch).filter((p) => lossRows(p) > 0);
  if (parts.length === 0) return computeGradients(ctx, batch, hooks, fwd, trainable);
  const total = parts.reduce((a, p) => a + lossRows(p), 0);
  let acc: GradientResult | null = null;
  for (const part of parts) {
    const r = computeGradients(ctx, part, hooks, fwd, trainable);
    const w = lossRows(part) / total;
    const scaled = (t: tf.Tensor) => tf.mul(t, w);
    if (!acc) {
      acc = {
        loss: tf.tidy(() => scaled(r.loss)) as tf.Scalar,
        grads: new Map([...r.grads].map(([k, g]) => [k, tf.tidy(() => scaled(g))])),
        metrics: new Map([...r.metrics].map(([k, m]) => [k, tf.tidy(() => scaled(m)) as tf.Scalar])),
      };
    } else {
      const sum = <T extends tf.Tensor>(into: Map<string, T>, from: Map<string, T>) => {
        for (const [k, t] of from) {
          const old = into.get(k);
          into.set(k, tf.tidy(() => (old ? tf.add(old, scaled(t)) : scaled(t))) as T);
          old?.dispose();
        }
      };
      const oldLoss = acc.loss;
      acc.loss = tf.tidy(() => tf.add(oldLoss, scaled(r.loss))) as tf.Scalar;
      oldLoss.dispose();
      sum(acc.grads, r.grads);
      sum(acc.metrics, r.metrics);
    }
    tf.dispose([r.loss, ...r.grads.values(), ...r.metrics.values()]);
  }
  return acc!;
}
