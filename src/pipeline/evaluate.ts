/**
 * Evaluations a stage records: masked-LM accuracy and perplexity on held-out text (with fixed
 * masks, so numbers are comparable across stages), the unigram baseline, and task accuracy.
 */
import * as tf from '@tensorflow/tfjs-core';
import { clsEvalBatches, lengthOrder, mlmEvalBatches } from '../data/index.js';
import type { EncodedExamples, MlmCorpus } from '../data/types.js';
import type { BertModel, ForwardOptions } from '../model/bert.js';
import type { RemoteForward } from '../train/parallel.js';
import { evalBatch, mlmObjective, type EvalBatchResult } from '../train/tasks.js';

export type MlmMetrics = {
  mlm_accuracy: number;
  mlm_perplexity: number;
  mlm_loss: number;
  mlm_tokens: number;
};

export function evaluateMlm(model: BertModel, heldOut: MlmCorpus, seed: number, forward: Partial<ForwardOptions> = {}): MlmMetrics {
  let correct = 0;
  let total = 0;
  let lossSum = 0;
  for (const batch of mlmEvalBatches(heldOut, { batchSize: 32, seed })) {
    const [c, l] = tf.tidy(() => {
      const out = mlmObjective.forward(model, batch, { ...forward, training: false });
      const pred = tf.argMax(out.logits, -1).dataSync();
      let ok = 0;
      pred.forEach((p, i) => (ok += p === batch.maskedLabels[i] ? 1 : 0));
      return [ok, out.loss.dataSync()[0] * batch.maskedLabels.length];
    });
    correct += c;
    lossSum += l;
    total += batch.maskedLabels.length;
  }
  const loss = total ? lossSum / total : NaN;
  return { mlm_accuracy: total ? correct / total : NaN, mlm_perplexity: Math.exp(loss), mlm_loss: loss, mlm_tokens: total };
}

/** Accuracy of always predicting the most frequent training token at the held-out masked positions. */
export function unigramBaseline(train: MlmCorpus, heldOut: MlmCorpus, seed: number): { token: number; accuracy: number } {
  const counts = new Map<number, number>();
  const special = new Set(Object.values(train.special));
  for (const seq of train.sequences) for (const id of seq) if (!special.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
  let best = -1;
  let bestCount = -1;
  for (const [id, c] of counts) if (c > bestCount || (c === bestCount && id < best)) [best, bestCount] = [id, c];
  let hit = 0;
  let total = 0;
  for (const batch of mlmEvalBatches(heldOut, { batchSize: 64, seed })) {
    for (const l of batch.maskedLabels) hit += l === best ? 1 : 0;
    total += batch.maskedLabels.length;
  }
  return { token: best, accuracy: total ? hit / total : NaN };
}

export type TaskMetrics = {
  accuracy: number;
  loss: number;
  examples: number;
};

/** Class predictions and accuracy over a split (no shuffling, full passes). */
export function predictTask(
  model: BertModel,
  split: EncodedExamples,
  batchSize: number,
  forward: Partial<ForwardOptions> = {},
): { predictions: Int32Array; logits: Float32Array; metrics: TaskMetrics } {
  const pass = taskPass(split, batchSize, model.config.numLabels);
  pass.batches.forEach((b, i) => pass.put(i, evalBatch(model, b, forward)));
  return pass.result();
}

/**
 * `predictTask` with its batches shared between this thread and `remote` ones (the training
 * workers, idle during an evaluation): batch i goes to thread i mod (1 + remote.length). Every
 * batch's forward is the same code on the same weights wherever it runs, and the results are
 * summed in batch order, so the figures are those of `predictTask` to the last bit.
 */
export async function predictTaskOn(
  model: BertModel,
  split: EncodedExamples,
  batchSize: number,
  remote: readonly RemoteForward[],
): Promise<{ predictions: Int32Array; logits: Float32Array; metrics: TaskMetrics }> {
  const pass = taskPass(split, batchSize, model.config.numLabels);
  const threads = 1 + remote.length;
  const mine = (t: number) => pass.batches.map((b, i) => [b, i] as const).filter(([, i]) => i % threads === t);
  // Post the remote shares first, then compute ours while they run.
  const away = remote.map(async (run, r) => {
    const share = mine(r + 1);
    const out = await run(share.map(([b]) => b));
    out.forEach((o, k) => pass.put(share[k][1], o));
  });
  for (const [b, i] of mine(0)) pass.put(i, evalBatch(model, b));
  await Promise.all(away);
  return pass.result();
}

/**
 * One evaluation pass: the split's batches (by length: less padding), each batch's results put
 * back in the split's own order, and the figures summed in batch order.
 */
function taskPass(split: EncodedExamples, batchSize: number, numLabels: number) {
  const n = split.examples.length;
  const order = lengthOrder(split);
  const ordered: EncodedExamples = { ...split, examples: order.map((i) => split.examples[i]) };
  const batches = [...clsEvalBatches(ordered, { batchSize, padding: 'longest' })];
  const results: EvalBatchResult[] = [];
  return {
    batches,
    put: (i: number, r: EvalBatchResult) => void (results[i] = r),
    result: () => {
      const predictions = new Int32Array(n);
      const logits = new Float32Array(n * numLabels);
      let offset = 0;
      let correct = 0;
      let lossSum = 0;
      batches.forEach((batch, b) => {
        const { logits: rows, predictions: pred, loss } = results[b];
        for (let i = 0; i < batch.batchSize; i++) {
          const at = order[offset + i];
          logits.set(rows.subarray(i * numLabels, (i + 1) * numLabels), at * numLabels);
          predictions[at] = pred[i];
          correct += pred[i] === batch.labels[i] ? 1 : 0;
        }
        lossSum += loss * batch.batchSize;
        offset += batch.batchSize;
      });
      return { predictions, logits, metrics: { accuracy: n ? correct / n : NaN, loss: n ? lossSum / n : NaN, examples: n } };
    },
  };
}
