import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { distillationHook } from '../../src/distill/hook.js';
import { createModel, disposeModel, snapshotModel } from '../../src/model/bert.js';
import { PrunerHook } from '../../src/prune/pruner.js';
import { selectWeights } from '../../src/prune/select.js';
import { trainLoop, type LoopSettings } from '../../src/train/loop.js';
import { accumulateGradients, computeGradients } from '../../src/train/gradients.js';
import type { LoopContext } from '../../src/train/hooks.js';
import { lossRows, splitBatch, splitRows } from '../../src/train/split.js';
import { Rng } from '../../src/util/rng.js';
import { classificationObjective, mlmObjective, type Batch } from '../../src/train/tasks.js';
import { tinyConfig, useTestBackend } from '../helpers.js';
import { cycle, fixedClsBatch, fixedMlmBatch } from './fixtures.js';

beforeAll(async () => {
  await useTestBackend();
});

const cfg = tinyConfig({ vocabSize: 70 });
const settings = (threads: number, microBatch = 0): LoopSettings => ({
  steps: 8,
  learningRate: 3e-3,
  warmupSteps: 1,
  clipNorm: 1,
  seed: 4,
  evalEvery: 0,
  checkpointEvery: 0,
  quiet: true,
  threads,
  microBatch,
});

function maxDiff(a: Map<string, { data: Float32Array }>, b: Map<string, { data: Float32Array }>): number {
  let m = 0;
  for (const [k, w] of a) {
    const v = b.get(k)!.data;
    for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i] - w.data[i]));
  }
  return m;
}

describe('batch splitting', () => {
  it('splits MLM batches by rows with re-based positions, losing nothing', () => {
    const b = fixedMlmBatch(70, 5, 12, 1);
    const [x, y] = splitBatch(b, 2);
    expect(x.batchSize + y.batchSize).toBe(5);
    expect(lossRows(x) + lossRows(y)).toBe(lossRows(b));
    expect(Array.from(x.maskedPositions).every((p) => p < 24)).toBe(true);
    expect([...x.maskedPositions, ...Array.from(y.maskedPositions, (p) => p + 24)]).toEqual(Array.from(b.maskedPositions));
    expect(Array.from(y.inputIds)).toEqual(Array.from(b.inputIds.slice(24)));
  });
});

describe('data-parallel training over a worker thread', () => {
  it('gives the weights of the single-threaded run (MLM with distillation and pruning)', async () => {
    const teacher = createModel(cfg, 9);
    const batches = [fixedMlmBatch(70, 6, 12, 1), fixedMlmBatch(70, 6, 12, 2)];
    const run = async (threads: number) => {
      const model = createModel(cfg, 3);
      const pruner = new PrunerHook<Batch>(model, selectWeights(model.params.keys()), {
        method: 'magnitude',
        schedule: { kind: 'cubic', initialSparsity: 0, finalSparsity: 0.8, beginStep: 0, endStep: 6, frequency: 2 },
      });
      const result = await trainLoop(model, mlmObjective, cycle(batches), settings(threads), [distillationHook(teacher, {}, 1), pruner] as never);
      const snap = snapshotModel(model);
      pruner.dispose();
      disposeModel(model);
      return { snap, result };
    };
    const one = await run(1);
    const before = tf.memory().numTensors;
    const two = await run(2);
    expect(tf.memory().numTensors).toBe(before);
    expect(maxDiff(one.snap.weights, two.snap.weights)).toBeLessThan(2e-5);
    two.result.history.forEach((h, i) => {
      expect(h.loss!).toBeCloseTo(one.result.history[i].loss!, 4);
      expect(h.kd_loss!).toBeCloseTo(one.result.history[i].kd_loss!, 4);
    });
    disposeModel(teacher);
  });

  it('gives the weights of the single-threaded run on classification', async () => {
    const batches = [fixedClsBatch(70, 7, 12, 1)];
    const run = async (threads: number) => {
      const model = createModel(cfg, 5);
      await trainLoop(model, classificationObjective, cycle(batches), settings(threads), []);
      const s = snapshotModel(model);
      disposeModel(model);
      return s;
    };
    expect(maxDiff((await run(1)).weights, (await run(3)).weights)).toBeLessThan(2e-5);
  });
});

describe('gradient accumulation', () => {
  it('splits a batch into micro-batches of at most the given rows, in order', () => {
    const b = fixedMlmBatch(70, 7, 12, 3);
    const parts = splitRows(b, 3);
    expect(parts.map((p) => p.batchSize)).toEqual([3, 3, 1]);
    expect(parts.reduce((a, p) => a + lossRows(p), 0)).toBe(lossRows(b));
    expect(parts.flatMap((p) => Array.from(p.inputIds))).toEqual(Array.from(b.inputIds));
    expect(() => splitRows(b, 0)).toThrow(/positive integer/);
  });

  it("gives the full batch's loss and gradients (MLM with distillation)", () => {
    const model = createModel(cfg, 3);
    const teacher = createModel(cfg, 9);
    const hooks = [distillationHook(teacher, {}, 1)] as never[];
    const ctx = { model, objective: mlmObjective, step: 0, totalSteps: 1, rng: new Rng(1) } as unknown as LoopContext<Batch>;
    const batch = fixedMlmBatch(70, 7, 12, 5);
    const fwd = { training: true, rng: new Rng(2) };
    const before = tf.memory().numTensors;
    const whole = computeGradients(ctx, batch, hooks, fwd, model.params);
    const parts = accumulateGradients(ctx, batch, hooks, fwd, model.params, 2);
    expect(parts.loss.dataSync()[0]).toBeCloseTo(whole.loss.dataSync()[0], 5);
    expect(parts.metrics.get('kd_loss')!.dataSync()[0]).toBeCloseTo(whole.metrics.get('kd_loss')!.dataSync()[0], 5);
    expect([...parts.grads.keys()].sort()).toEqual([...whole.grads.keys()].sort());
    let worst = 0;
    for (const [k, g] of whole.grads) {
      const a = g.dataSync();
      const b = parts.grads.get(k)!.dataSync();
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    }
    expect(worst).toBeLessThan(1e-6);
    tf.dispose([whole.loss, parts.loss, ...whole.grads.values(), ...parts.grads.values(), ...whole.metrics.values(), ...parts.metrics.values()]);
    expect(tf.memory().numTensors).toBe(before);
    disposeModel(model);
    disposeModel(teacher);
  });

  it('trains to the same weights with micro-batches, on one thread and on two', async () => {
    const batches = [fixedClsBatch(70, 7, 12, 1)];
    const run = async (threads: number, microBatch: number) => {
      const model = createModel(cfg, 5);
      await trainLoop(model, classificationObjective, cycle(batches), settings(threads, microBatch), []);
      const s = snapshotModel(model);
      disposeModel(model);
      return s;
    };
    const reference = (await run(1, 0)).weights;
    expect(maxDiff(reference, (await run(1, 2)).weights)).toBeLessThan(2e-5);
    expect(maxDiff(reference, (await run(2, 1)).weights)).toBeLessThan(2e-5);
  });
});
