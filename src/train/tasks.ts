/**
 * The two training objectives: masked-LM (pre-training) and sequence classification (transfer).
 * Each turns a batch of plain arrays into tensors, runs the student forward and returns the
 * logits (for distillation), the hidden states (for hidden-state distillation) and the task loss.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ClsBatch, MlmBatch } from '../data/types.js';
import { softmaxParts } from '../util/softmax.js';
import { classifierLogits, encode, mlmLogits, type BertModel, type EncoderInputs, type ForwardOptions } from '../model/bert.js';

export type Batch = MlmBatch | ClsBatch;

export interface ForwardResult {
  logits: tf.Tensor2D;
  hidden: tf.Tensor3D[];
  loss: tf.Scalar;
}

export interface Objective<B extends Batch> {
  kind: 'mlm' | 'classification';
  /** Logits and hidden states without the loss (a frozen teacher needs no loss over the vocabulary). */
  logits(model: BertModel, batch: B, opts: ForwardOptions): Omit<ForwardResult, 'loss'>;
  forward(model: BertModel, batch: B, opts: ForwardOptions): ForwardResult;
  /** Labels of the rows of `logits` (masked-token ids, or class ids). */
  labels(batch: B): Int32Array;
  /** Tokens processed by one batch (for tokens/s). */
  tokens(batch: B): number;
}

export function encoderInputs(batch: Batch): EncoderInputs {
  const shape: [number, number] = [batch.batchSize, batch.seqLen];
  return {
    inputIds: tf.tensor2d(batch.inputIds, shape, 'int32'),
    tokenTypeIds: tf.tensor2d(batch.tokenTypeIds, shape, 'int32'),
    attentionMask: tf.tensor2d(batch.attentionMask, shape, 'float32'),
  };
}

/**
 * Mean cross-entropy of integer labels, with its gradient written out, (softmax - one_hot) / rows:
 * one softmax over [rows, vocab] where tf.logSoftmax and its gradient run two exps (on wasm each
 * is ~150 ms at the MLM head's size).
 */
export function sparseCrossEntropy(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  const [n, v] = logits.shape;
  const flat = new Int32Array(n);
  for (let i = 0; i < n; i++) flat[i] = i * v + labels[i];
  const fused = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const { p, lse } = softmaxParts(x);
    // log p[label] = x[label] - lse, on n entries instead of n x vocab.
    const picked = tf.sub(tf.gather(tf.reshape(x, [n * v]), tf.tensor1d(flat, 'int32')), tf.reshape(lse, [n]));
    save([p]);
    return {
      value: tf.neg(tf.mean(picked)) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.sub(saved[0], tf.oneHot(tf.tensor1d(labels, 'int32'), v)), tf.div(dy, n)),
    };
  });
  return fused(logits) as tf.Scalar;
}

export const mlmObjective: Objective<MlmBatch> = {
  kind: 'mlm',
  logits(model, batch, opts) {
    const out = encode(model, encoderInputs(batch), opts);
    return { logits: mlmLogits(model, out.sequence, tf.tensor1d(batch.maskedPositions, 'int32')), hidden: out.hidden };
  },
  forward(model, batch, opts) {
    const out = mlmObjective.logits(model, batch, opts);
    return { ...out, loss: sparseCrossEntropy(out.logits, batch.maskedLabels) };
  },
  labels: (batch) => batch.maskedLabels,
  tokens: (batch) => batch.batchSize * batch.seqLen,
};

export const classificationObjective: Objective<ClsBatch> = {
  kind: 'classification',
  logits(model, batch, opts) {
    const out = encode(model, encoderInputs(batch), opts);
    return { logits: classifierLogits(model, out.sequence, opts), hidden: out.hidden };
  },
  forward(model, batch, opts) {
    const out = classificationObjective.logits(model, batch, opts);
    return { ...out, loss: sparseCrossEntropy(out.logits, batch.labels) };
  },
  labels: (batch) => batch.labels,
  tokens: (batch) => batch.batchSize * batch.seqLen,
};

/** One evaluation batch's results, as plain arrays: logits (row-major), argmax classes and mean loss. */
export interface EvalBatchResult {
  logits: Float32Array;
  predictions: Int32Array;
  loss: number;
}

/**
 * An evaluation batch in eval mode (no hook): the one forward of an evaluation pass, whether it runs
 * on the main thread (pipeline/evaluate.ts) or in an idle gradient worker (grad-worker.ts).
 */
export function evalBatch(model: BertModel, batch: ClsBatch, forward: Partial<ForwardOptions> = {}): EvalBatchResult {
  return tf.tidy(() => {
    const out = classificationObjective.forward(model, batch, { ...forward, training: false });
    return {
      logits: (out.logits.dataSync() as Float32Array).slice(),
      predictions: Int32Array.from(tf.argMax(out.logits, -1).dataSync()),
      loss: out.loss.dataSync()[0],
    };
  });
}
