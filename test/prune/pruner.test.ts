import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, disposeModel } from '../../src/model/bert.js';
import { defaultConfig } from '../../src/model/config.js';
import { PrunerHook } from '../../src/prune/pruner.js';
import { DEFAULT_INCLUDE, selectWeights } from '../../src/prune/select.js';
import { trainLoop, type LoopSettings } from '../../src/train/loop.js';
import { classificationObjective, mlmObjective } from '../../src/train/tasks.js';
import { useTestBackend } from '../helpers.js';
import { cycle, fixedClsBatch, fixedMlmBatch } from '../train/fixtures.js';

beforeAll(async () => {
  await useTestBackend();
});

const cfg = defaultConfig({ vocabSize: 60, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 16, numLabels: 2 });
const loop = (steps: number): LoopSettings => ({ steps, learningRate: 1e-2, warmupSteps: 0, clipNorm: 1, seed: 1, evalEvery: 0, checkpointEvery: 0, quiet: true });

function zeroPositions(data: Float32Array | Int32Array | Uint8Array): number[] {
  const out: number[] = [];
  data.forEach((v, i) => v === 0 && out.push(i));
  return out;
}

describe('weight selection', () => {
  it('selects exactly the encoder Linear kernels by default', () => {
    const model = createModel(cfg, 1);
    const names = selectWeights(model.params.keys());
    expect(names).toHaveLength(12);
    expect(names.every((n) => n.startsWith('encoder/') && n.endsWith('/kernel'))).toBe(true);
    expect(selectWeights(model.params.keys(), DEFAULT_INCLUDE, ['encoder/layer_1/**'])).toHaveLength(6);
    disposeModel(model);
  });
});

describe('pruner hook', () => {
  it('raises sparsity on the cubic schedule to the exact target and keeps pruned weights exactly zero under Adam', async () => {
    const model = createModel(cfg, 1);
    const names = selectWeights(model.params.keys());
    const hook = new PrunerHook(model, names, {
      method: 'magnitude',
      schedule: { kind: 'cubic', initialSparsity: 0, finalSparsity: 0.9, beginStep: 0, endStep: 10, frequency: 3 },
    });
    const seen: number[] = [];
    const probe = { name: 'probe', afterStep: () => seen.push(hook.sparsity().overall) };
    await trainLoop(model, mlmObjective, cycle([fixedMlmBatch(60, 4, 12, 1)]), loop(40), [hook, probe]);
    // Monotone ramp to the target, then held for 30 steps of a large learning rate.
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
    for (const name of names) {
      const data = model.params.get(name)!.dataSync();
      expect(zeroPositions(data as Float32Array).length).toBe(Math.floor(0.9 * data.length));
    }
    expect(hook.evaluate().sparsity).toBeCloseTo(0.9, 2);
    hook.dispose();
    disposeModel(model);
  });

  it('locks the pattern through fine-tuning: the zero set never changes', async () => {
    const model = createModel(cfg, 2);
    const names = selectWeights(model.params.keys());
    // Make a sparse model first.
    const prune = new PrunerHook(model, names, { method: 'magnitude', schedule: { kind: 'one-shot', sparsity: 0.8, step: 0 } });
    await trainLoop(model, classificationObjective, cycle([fixedClsBatch(60, 8, 12, 1)]), loop(1), [prune]);
    prune.dispose();
    const before = new Map(names.map((n) => [n, zeroPositions(model.params.get(n)!.dataSync() as Float32Array)]));
    const lock = new PrunerHook(model, names, { method: 'pattern-lock' });
    await trainLoop(model, classificationObjective, cycle([fixedClsBatch(60, 8, 12, 2)]), loop(25), [lock]);
    for (const n of names) {
      expect(zeroPositions(model.params.get(n)!.dataSync() as Float32Array)).toEqual(before.get(n));
      expect(zeroPositions(lock.masks.get(n)!.dataSync() as Float32Array)).toEqual(before.get(n));
    }
    // Without the lock the same training would regrow the zeros.
    const free = createModel(cfg, 2);
    for (const n of names) free.params.get(n)!.assign(model.params.get(n)!);
    await trainLoop(free, classificationObjective, cycle([fixedClsBatch(60, 8, 12, 2)]), loop(5), []);
    const regrown = names.some((n) => zeroPositions(free.params.get(n)!.dataSync() as Float32Array).length < before.get(n)!.length);
    expect(regrown).toBe(true);
    lock.dispose();
    disposeModel(model);
    disposeModel(free);
  });

  it('applies per-tensor overrides and rejects unknown methods', () => {
    const model = createModel(cfg, 3);
    const names = selectWeights(model.params.keys());
    expect(() => new PrunerHook(model, names, { method: 'random' })).toThrow(/unknown pruning method 'random'; known: magnitude/);
    const hook = new PrunerHook(model, names, {
      method: 'magnitude',
      schedule: { kind: 'one-shot', sparsity: 0.9, step: 0 },
      overrides: [{ match: 'encoder/layer_0/**', finalSparsity: 0.5 }],
    });
    hook.init({ step: 0 } as never);
    const s = hook.sparsity().perTensor;
    expect(s['encoder/layer_0/attention/query/kernel']).toBeCloseTo(0.5, 2);
    expect(s['encoder/layer_1/attention/query/kernel']).toBeCloseTo(0.9, 2);
    hook.dispose();
    disposeModel(model);
  });
});
