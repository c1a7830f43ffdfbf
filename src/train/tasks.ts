/**
 * The two training objectives: masked-LM (pre-training) and sequence classification (transfer).
 * Each turns a batch of plain arrays into tensors, runs the student forward and returns the
 * logits (for distillation), the hidden states (for hidden-state distillation) and the task loss.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ClsBatch, MlmBatch } from '../data/types.js';
import { classifierLogits, encode, mlmLogits, type BertModel, type EncoderInputs, type ForwardOptions } from '../model/bert.js';

export type Batch = MlmBatch | ClsBatch;

export interface ForwardResult {
  logits: tf.Tensor2D;
  hidden: tf.Tensor3D[];
  loss: tf.Scalar;
}

export interface Objective<B extends Batch> {
  kind: 'mlm' | 'classification';
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

/** Mean cross-entropy of integer labels, without materialising one-hot rows over the vocabulary. */
export function sparseCrossEntropy(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  const [n, v] = logits.shape;
  const logp = tf.logSoftmax(logits);
  const flat = new Int32Array(n);
  for (let i = 0; i < n; i++) flat[i] = i * v + labels[i];
  const picked = tf.gather(tf.reshape(logp, [n * v]), tf.tensor1d(flat, 'int32'));
  return tf.neg(tf.mean(picked)) as tf.Scalar;
}

export const mlmObjective: Objective<MlmBatch> = {
  kind: 'mlm',
  forward(model, batch, opts) {
    const out = encode(model, encoderInputs(batch), opts);
    const logits = mlmLogits(model, out.sequence, tf.tensor1d(batch.maskedPositions, 'int32'));
    return { logits, hidden: out.hidden, loss: sparseCrossEntropy(logits, batch.maskedLabels) };
  },
  labels: (batch) => batch.maskedLabels,
  tokens: (batch) => batch.batchSize * batch.seqLen,
};

export const classificationObjective: Objective<ClsBatch> = {
  kind: 'classification',
  forward(model, batch, opts) {
    const out = encode(model, encoderInputs(batch), opts);
    const logits = classifierLogits(model, out.sequence, opts);
    return { logits, hidden: out.hidden, loss: sparseCrossEntropy(logits, batch.labels) };
  },
  labels: (batch) => batch.labels,
  tokens: (batch) => batch.batchSize * batch.seqLen,
};
