/**
 * Splitting a batch by rows for data-parallel gradients, and the row counts that weight each part:
 * both losses (task cross-entropy, KD) are means over rows (masked tokens for MLM, examples for
 * classification), so the full-batch loss is the row-weighted mean of the parts' losses.
 */
import type { ClsBatch, MlmBatch } from '../data/types.js';
import type { Batch } from './tasks.js';

function isMlm(b: Batch): b is MlmBatch {
  return (b as MlmBatch).maskedPositions !== undefined;
}

/** Rows the loss averages over. */
export function lossRows(b: Batch): number {
  return isMlm(b) ? b.maskedLabels.length : b.batchSize;
}

/** Splits a batch into rows [0, k) and [k, batchSize). */
export function splitBatch<B extends Batch>(batch: B, k: number): [B, B] {
  const b = batch as Batch;
  const S = b.seqLen;
  const part = (from: number, to: number) => ({
    seqLen: S,
    batchSize: to - from,
    inputIds: b.inputIds.slice(from * S, to * S),
    tokenTypeIds: b.tokenTypeIds.slice(from * S, to * S),
    attentionMask: b.attentionMask.slice(from * S, to * S),
  });
  if (isMlm(b)) {
    const cut = k * S;
    let n = 0;
    while (n < b.maskedPositions.length && b.maskedPositions[n] < cut) n++;
    const a: MlmBatch = { ...part(0, k), maskedPositions: b.maskedPositions.slice(0, n), maskedLabels: b.maskedLabels.slice(0, n) };
    const c: MlmBatch = { ...part(k, b.batchSize), maskedPositions: b.maskedPositions.slice(n).map((p) => p - cut), maskedLabels: b.maskedLabels.slice(n) };
    return [a as unknown as B, c as unknown as B];
  }
  const cb = b as ClsBatch;
  const rows = (from: number, to?: number) => (cb.rows ? { rows: cb.rows.slice(from, to) } : {});
  const a: ClsBatch = { ...part(0, k), labels: cb.labels.slice(0, k), ...rows(0, k) };
  const c: ClsBatch = { ...part(k, cb.batchSize), labels: cb.labels.slice(k), ...rows(k) };
  return [a as unknown as B, c as unknown as B];
}

/** Consecutive parts of at most `rows` rows each (the micro-batches of gradient accumulation). */
export function splitRows<B extends Batch>(batch: B, rows: number): B[] {
  if (!(Number.isInteger(rows) && rows >= 1)) throw new Error(`micro-batch rows must be a positive integer, got ${rows}`);
  const parts: B[] = [];
  let rest = batch;
  while (rest.batchSize > rows) {
    const [head, tail] = splitBatch(rest, rows);
    parts.push(head);
    rest = tail;
  }
  parts.push(rest);
  return parts;
}
