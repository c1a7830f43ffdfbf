/**
 * The train-step bench's fixtures, matching the PyTorch peer shared/peers/torch_ref.py: models of
 * its shape, its random MLM batch (served again every step) and its sparsity ramp, registered as a
 * schedule kind at first use (so pipeline files never see it).
 */
import { z } from 'zod';
import type { MlmBatch } from '../data/types.js';
import { defaultConfig, type BertConfig } from '../model/config.js';
import { scheduleRegistry, type Schedule, type ScheduleKind } from '../prune/schedules.js';
import type { BatchSource } from '../train/loop.js';
import { Rng } from '../util/rng.js';

/** torch_ref reaches the final sparsity at step 10. */
const RAMP_STEPS = 10;
/** torch_ref selects each position for MLM with this probability. */
const MASK_FRACTION = 0.15;

/** torch_ref's heads: max(1, hidden // 64). */
export function headsOf(hidden: number): number {
  return Math.max(1, Math.floor(hidden / 64));
}

/** A model of torch_ref's shape: A = H/64, I = 4H, positions = seq, no dropout. */
export function benchConfig(layers: number, hidden: number, vocab: number, seq: number): BertConfig {
  return defaultConfig({
    vocabSize: vocab,
    hiddenSize: hidden,
    numLayers: layers,
    numHeads: headsOf(hidden),
    intermediateSize: 4 * hidden,
    maxPositions: seq,
    hiddenDropout: 0,
    attentionDropout: 0,
  });
}

/** torch_ref's batch: ids in [5, vocab), each position selected with probability 0.15 (at least one). */
export function randomMlmBatch(vocab: number, batchSize: number, seqLen: number, seed: number): MlmBatch {
  const rng = new Rng(seed);
  const n = batchSize * seqLen;
  const inputIds = Int32Array.from({ length: n }, () => 5 + rng.int(vocab - 5));
  const positions: number[] = [];
  for (let i = 0; i < n; i++) if (rng.next() < MASK_FRACTION) positions.push(i);
  if (positions.length === 0) positions.push(0);
  const maskedPositions = Int32Array.from(positions);
  return {
    batchSize,
    seqLen,
    inputIds,
    tokenTypeIds: new Int32Array(n),
    attentionMask: new Float32Array(n).fill(1),
    maskedPositions,
    maskedLabels: Int32Array.from(maskedPositions, (p) => inputIds[p]),
  };
}

/** The same batch every step, as torch_ref. */
export function repeatBatch<B>(batch: B): BatchSource<B> {
  let served = 0;
  return {
    next: () => (served++, batch),
    getState: () => served,
    setState: (s) => {
      served = s as number;
    },
  };
}

// ---- the ramp schedule -------------------------------------------------------------------------

/** The schedule kind name; registered on first use, so configs never see it unless a bench ran. */
const TORCH_REF_RAMP = 'torch-ref-ramp';

export type TorchRefRampConfig = { kind: typeof TORCH_REF_RAMP; finalSparsity: number; rampSteps: number };

/**
 * torch_ref's ramp: after step i (1-based) the masks are recomputed to final * min(1, i / ramp),
 * every step, also after the ramp ends. None of the registered kinds does this (cubic has another
 * curve and stops recomputing at its end step), so the bench adds it to the schedule registry, the
 * extension point schedules have.
 */
export function torchRefRamp(finalSparsity: number, rampSteps = RAMP_STEPS): Schedule {
  return (step) => (step < 1 ? { prune: false, sparsity: 0 } : { prune: true, sparsity: finalSparsity * Math.min(1, step / rampSteps) });
}

const rampKind: ScheduleKind<TorchRefRampConfig> = {
  schema: z.strictObject({ kind: z.literal(TORCH_REF_RAMP), finalSparsity: z.number().min(0).lt(1), rampSteps: z.number().int().positive() }),
  build: (c) => torchRefRamp(c.finalSparsity, c.rampSteps),
};

export function torchRefRampConfig(finalSparsity: number): TorchRefRampConfig {
  if (!scheduleRegistry.has(TORCH_REF_RAMP)) scheduleRegistry.register(TORCH_REF_RAMP, rampKind);
  return { kind: TORCH_REF_RAMP, finalSparsity, rampSteps: RAMP_STEPS };
}
