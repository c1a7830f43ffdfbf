import type { ClsBatch, MlmBatch } from '../../src/data/types.js';
import type { BatchSource } from '../../src/train/loop.js';
import { Rng } from '../../src/util/rng.js';

/** A fixed MLM batch of random ids with ~15% of positions masked (id 4 = [MASK] here). */
export function fixedMlmBatch(vocab: number, batchSize: number, seqLen: number, seed: number): MlmBatch {
  const rng = new Rng(seed);
  const inputIds = new Int32Array(batchSize * seqLen);
  const positions: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < inputIds.length; i++) {
    const id = 5 + rng.int(vocab - 5);
    inputIds[i] = id;
    if (rng.next() < 0.15 || i % seqLen === 1) {
      positions.push(i);
      labels.push(id);
      inputIds[i] = 4;
    }
  }
  return {
    batchSize,
    seqLen,
    inputIds,
    tokenTypeIds: new Int32Array(batchSize * seqLen),
    attentionMask: new Float32Array(batchSize * seqLen).fill(1),
    maskedPositions: Int32Array.from(positions),
    maskedLabels: Int32Array.from(labels),
  };
}

/** A fixed classification batch whose label is whether token 7 occurs in the text. */
export function fixedClsBatch(vocab: number, batchSize: number, seqLen: number, seed: number): ClsBatch {
  const rng = new Rng(seed);
  const inputIds = new Int32Array(batchSize * seqLen);
  const labels = new Int32Array(batchSize);
  for (let b = 0; b < batchSize; b++) {
    labels[b] = b % 2;
    for (let s = 0; s < seqLen; s++) inputIds[b * seqLen + s] = s === 0 ? 2 : 8 + rng.int(vocab - 8);
    if (labels[b]) inputIds[b * seqLen + 1 + rng.int(seqLen - 1)] = 7;
  }
  return {
    batchSize,
    seqLen,
    inputIds,
    tokenTypeIds: new Int32Array(batchSize * seqLen),
    attentionMask: new Float32Array(batchSize * seqLen).fill(1),
    labels,
  };
}

/** Cycles through the given batches; its state is the position, so resume is exact. */
export function cycle<B>(batches: B[]): BatchSource<B> {
  let i = 0;
  return {
    next: () => batches[i++ % batches.length],
    getState: () => i,
    setState: (s) => {
      i = s as number;
    },
  };
}
