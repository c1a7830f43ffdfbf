/**
 * Early stopping in the training loop: it stops once the metric has not improved for `patience`
 * evaluations, puts back the weights of the best evaluation (and reports its figures last, where
 * the stages read the final dev accuracy), and a resume after the stop trains no further.
 * The dev figures are scripted (the evaluation is the loop's injection point); the training is real.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, disposeModel, snapshotModel, type BertModel } from '../../src/model/bert.js';
import type { WeightData } from '../../src/model/snapshot.js';
import { trainLoop, type LoopSettings, type LoopState } from '../../src/train/loop.js';
import { mlmObjective } from '../../src/train/tasks.js';
import { tinyConfig, useTestBackend } from '../helpers.js';
import { cycle, fixedMlmBatch } from './fixtures.js';

beforeAll(async () => {
  await useTestBackend();
});

const cfg = tinyConfig({ numLayers: 1, numLabels: 0 });
const settings = (patience: number): LoopSettings => ({
  steps: 40,
  learningRate: 5e-3,
  warmupSteps: 2,
  clipNorm: 1,
  seed: 1,
  evalEvery: 2,
  checkpointEvery: 0,
  quiet: true,
  earlyStopping: { patience, metric: 'dev_accuracy', higherIsBetter: true },
});

/** Dev accuracy by evaluation: best at the 3rd (step 6), then worse. */
const SCRIPT = [0.5, 0.6, 0.7, 0.65, 0.64, 0.66, 0.6, 0.6, 0.6];

function scripted(model: BertModel) {
  const seen: Array<{ step: number; weights: Map<string, WeightData> }> = [];
  let i = 0;
  return {
    seen,
    evaluate: () => {
      seen.push({ step: (i + 1) * 2, weights: snapshotModel(model).weights });
      return { dev_accuracy: SCRIPT[Math.min(i++, SCRIPT.length - 1)] };
    },
  };
}

describe('early stopping', () => {
  it('stops after `patience` evaluations without improvement and keeps the best weights', async () => {
    const model = createModel(cfg, 1);
    const ev = scripted(model);
    const result = await trainLoop(model, mlmObjective, cycle([fixedMlmBatch(60, 4, 12, 3)]), settings(3), [], { evaluate: ev.evaluate });
    // Evaluations at steps 2, 4, 6 (best, 0.7), 8, 10, 12: three without improvement, stop at 12.
    expect(result.stoppedAt).toBe(12);
    expect(result.history).toHaveLength(12);
    expect(result.restoredStep).toBe(6);
    expect(result.evaluations.at(-1)).toEqual({ step: 6, metrics: { dev_accuracy: 0.7 } });
    const best = ev.seen.find((s) => s.step === 6)!.weights;
    const now = snapshotModel(model).weights;
    for (const [k, w] of best) expect(Array.from(now.get(k)!.data), k).toEqual(Array.from(w.data));
    // ... and they are not the weights it stopped with.
    const last = ev.seen.find((s) => s.step === 12)!.weights;
    expect([...last].some(([k, w]) => w.data.some((v, j) => v !== now.get(k)!.data[j]))).toBe(true);
    disposeModel(model);
  });

  it('trains every step when the metric keeps improving within the patience', async () => {
    const model = createModel(cfg, 1);
    let i = 0;
    const result = await trainLoop(model, mlmObjective, cycle([fixedMlmBatch(60, 4, 12, 3)]), { ...settings(2), steps: 10 }, [], {
      evaluate: () => ({ dev_accuracy: 0.5 + 0.01 * i++ }),
    });
    expect(result.stoppedAt).toBe(10);
    expect(result.restoredStep).toBe(10);
    expect(result.evaluations.map((e) => e.step)).toEqual([2, 4, 6, 8, 10]);
    disposeModel(model);
  });

  it('resumes a stopped run without training further, and restores the same best weights', async () => {
    const model = createModel(cfg, 1);
    const ev = scripted(model);
    let saved: { state: LoopState; tensors: Map<string, WeightData> } | null = null;
    let savedWeights: Map<string, WeightData> | null = null;
    await trainLoop(model, mlmObjective, cycle([fixedMlmBatch(60, 4, 12, 3)]), settings(3), [], {
      evaluate: ev.evaluate,
      saveResume: (state, tensors) => {
        saved = { state: structuredClone(state), tensors: new Map(tensors) };
        savedWeights = snapshotModel(model).weights;
      },
    });
    expect(saved!.state.earlyStopping).toMatchObject({ bestStep: 6, stopped: true });
    // A second process picks the checkpoint up: the weights as saved, the loop state and tensors.
    const again = createModel(cfg, 2);
    for (const [k, w] of savedWeights!) again.params.get(k)!.assign(tf.tensor(w.data, w.shape));
    const result = await trainLoop(
      again,
      mlmObjective,
      cycle([fixedMlmBatch(60, 4, 12, 3)]),
      settings(3),
      [],
      { evaluate: () => ({ dev_accuracy: 0.1 }) },
      saved!,
    );
    expect(result.history).toHaveLength(12); // no step beyond the stop
    expect(result.restoredStep).toBe(6); // the final evaluation (0.1) does not beat the saved best (0.7)
    const best = ev.seen.find((s) => s.step === 6)!.weights;
    for (const [k, w] of best) expect(Array.from(again.params.get(k)!.dataSync()), k).toEqual(Array.from(w.data));
    disposeModel(model);
    disposeModel(again);
  });
});
