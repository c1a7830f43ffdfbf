import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, disposeModel, snapshotModel } from '../../src/model/bert.js';
import type { WeightData } from '../../src/model/snapshot.js';
import type { TrainHook } from '../../src/train/hooks.js';
import { trainLoop, TrainingDivergedError, type LoopSettings, type LoopState } from '../../src/train/loop.js';
import { mlmObjective } from '../../src/train/tasks.js';
import { tinyConfig, useTestBackend } from '../helpers.js';
import { cycle, fixedMlmBatch } from './fixtures.js';

beforeAll(async () => {
  await useTestBackend();
});

const cfg = tinyConfig({ numLayers: 1, numLabels: 0 });
const settings = (steps: number): LoopSettings => ({
  steps,
  learningRate: 5e-3,
  warmupSteps: 2,
  clipNorm: 1,
  seed: 1,
  evalEvery: 0,
  checkpointEvery: 0,
  quiet: true,
});

describe('training loop', () => {
  it('lowers the MLM loss of a tiny model on a fixed batch', async () => {
    const model = createModel(cfg, 1);
    const batch = fixedMlmBatch(60, 4, 12, 3);
    const result = await trainLoop(model, mlmObjective, cycle([batch]), settings(40), []);
    const first = result.history[0].loss!;
    const last = result.history.at(-1)!.loss!;
    expect(first).toBeGreaterThan(Math.log(60) - 0.5);
    expect(last).toBeLessThan(first * 0.5);
    disposeModel(model);
  });

  it('keeps the number of live tensors flat across steps', async () => {
    const model = createModel(cfg, 1);
    const batch = fixedMlmBatch(60, 4, 12, 3);
    await trainLoop(model, mlmObjective, cycle([batch]), settings(2), []);
    const before = tf.memory().numTensors;
    await trainLoop(model, mlmObjective, cycle([batch]), settings(12), []);
    expect(tf.memory().numTensors).toBe(before);
    disposeModel(model);
  });

  it('stops with a clear error on a non-finite loss, before corrupting the weights', async () => {
    const model = createModel(cfg, 1);
    const batch = fixedMlmBatch(60, 4, 12, 3);
    // Two good steps, then a hook makes the third step's loss NaN (as an overflow would).
    let afterGoodSteps: ReturnType<typeof snapshotModel> | null = null;
    let resumeSavedAt: number[] = [];
    const poison: TrainHook = {
      name: 'poison',
      loss: (ctx, _batch, _out, total) => (ctx.step === 2 ? (tf.mul(total, Number.NaN) as tf.Scalar) : total),
      afterStep: (ctx) => {
        if (ctx.step === 2) afterGoodSteps = snapshotModel(model);
      },
    };
    const io = { saveResume: (state: LoopState) => void resumeSavedAt.push(state.step) };
    await expect(trainLoop(model, mlmObjective, cycle([batch]), { ...settings(5), checkpointEvery: 1 }, [poison], io)).rejects.toThrow(
      /diverged at step 3: loss=NaN.*learning rate/,
    );
    // The weights are exactly those after the last good step: finite, and the NaN update was never applied.
    const now = snapshotModel(model);
    expect(afterGoodSteps).not.toBeNull();
    for (const [name, w] of afterGoodSteps!.weights) {
      const got = now.weights.get(name)!.data;
      expect(got.every(Number.isFinite), name).toBe(true);
      expect(Array.from(got), name).toEqual(Array.from(w.data));
    }
    // ...and the last resume checkpoint is the good one of step 2.
    expect(resumeSavedAt).toEqual([1, 2]);
    resumeSavedAt = [];
    // A NaN learning rate poisons the weights in the first update: the loop stops at step 2's loss.
    await expect(trainLoop(createModel(cfg, 1), mlmObjective, cycle([batch]), { ...settings(3), learningRate: Number.NaN }, [])).rejects.toThrow(
      TrainingDivergedError,
    );
    disposeModel(model);
  });

  it('resumes from a saved state to the same weights as an uninterrupted run', async () => {
    const batches = [fixedMlmBatch(60, 4, 12, 3), fixedMlmBatch(60, 4, 12, 4), fixedMlmBatch(60, 4, 12, 5)];
    const full = createModel(cfg, 7);
    await trainLoop(full, mlmObjective, cycle(batches), { ...settings(10), seed: 9 }, []);
    const expected = snapshotModel(full);

    // Interrupted run: stop after 4 steps keeping the resume state written at step 4.
    const part = createModel(cfg, 7);
    let saved: { state: LoopState; tensors: Map<string, WeightData>; weights: ReturnType<typeof snapshotModel> } | null = null;
    const io = {
      saveResume: (state: LoopState, tensors: Map<string, WeightData>) => {
        if (state.step === 4) saved = { state, tensors, weights: snapshotModel(part) };
      },
    };
    await trainLoop(part, mlmObjective, cycle(batches), { ...settings(10), seed: 9, checkpointEvery: 4 }, [], io);
    expect(saved).not.toBeNull();
    const s = saved!;
    const resumed = createModel(cfg, 123);
    for (const [name, w] of s.weights.weights) resumed.params.get(name)!.assign(tf.tensor(w.data, w.shape));
    await trainLoop(resumed, mlmObjective, cycle(batches), { ...settings(10), seed: 9 }, [], {}, { state: s.state, tensors: s.tensors });
    const got = snapshotModel(resumed);
    for (const [name, w] of expected.weights) {
      const g = got.weights.get(name)!.data;
      let maxDiff = 0;
      for (let i = 0; i < g.length; i++) maxDiff = Math.max(maxDiff, Math.abs(g[i] - w.data[i]));
      expect(maxDiff, name).toBeLessThan(1e-6);
    }
  });
});
