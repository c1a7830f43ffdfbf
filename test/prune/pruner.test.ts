import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, disposeModel } from '../../src/model/bert.js';
import { PatternLockHook } from '../../src/prune/pattern-lock.js';
import { maskRegistry, pruneCount } from '../../src/prune/masks.js';
import { PrunerHook } from '../../src/prune/pruner.js';
import { makeSchedule } from '../../src/prune/schedules.js';
import { DEFAULT_INCLUDE, selectWeights } from '../../src/prune/select.js';
import { trainLoop, type LoopSettings } from '../../src/train/loop.js';
import { classificationObjective, mlmObjective } from '../../src/train/tasks.js';
import { tinyConfig, useTestBackend } from '../helpers.js';
import { cycle, fixedClsBatch, fixedMlmBatch } from '../train/fixtures.js';

beforeAll(async () => {
  await useTestBackend();
});

const cfg = tinyConfig({ hiddenDropout: 0.1, attentionDropout: 0.1 });
const loop = (steps: number): LoopSettings => ({
  steps,
  learningRate: 1e-2,
  warmupSteps: 0,
  clipNorm: 1,
  seed: 1,
  evalEvery: 0,
  checkpointEvery: 0,
  quiet: true,
});

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
    const lock = new PatternLockHook(model, names);
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

  it('rejects unknown methods', () => {
    const model = createModel(cfg, 3);
    const names = selectWeights(model.params.keys());
    const schedule = { kind: 'one-shot', sparsity: 0.5, step: 0 } as const;
    expect(() => new PrunerHook(model, names, { method: 'random', schedule })).toThrow(/unknown pruning method 'random'; known: magnitude/);
    expect(() => new PrunerHook(model, names, { method: 'pattern-lock', schedule })).toThrow(/unknown pruning method 'pattern-lock'/);
    disposeModel(model);
  });
});

describe('pruning groups', () => {
  /** Runs init and afterStep for steps 0..last on a model without training (weights only change by masking). */
  function walk(hook: PrunerHook, last: number): void {
    hook.init({ step: 0 } as never);
    for (let t = 1; t <= last; t++) hook.afterStep({ step: t } as never);
  }

  it('without groups, masks at every prune step are the mask function over all weights at the schedule target', () => {
    const schedule = { kind: 'cubic', initialSparsity: 0, finalSparsity: 0.8, beginStep: 0, endStep: 6, frequency: 2 } as const;
    for (const method of ['magnitude', 'global-magnitude'] as const) {
      const model = createModel(cfg, 4);
      const names = selectWeights(model.params.keys());
      const hook = new PrunerHook(model, names, { method, schedule });
      const sched = makeSchedule(schedule);
      hook.init({ step: 0 } as never);
      for (let t = 1; t <= 8; t++) {
        // The expected masks, computed independently from the weights before this step's recomputation.
        const current = new Map(
          names.map((n) => [n, { shape: [...model.params.get(n)!.shape], data: (model.params.get(n)!.dataSync() as Float32Array).slice() }]),
        );
        const s = sched(t);
        hook.afterStep({ step: t } as never);
        if (!s.prune) continue;
        const expected = maskRegistry.get(method)(current, s.sparsity);
        for (const n of names) expect(Array.from(hook.masks.get(n)!.dataSync()), `${method} ${n} step ${t}`).toEqual(Array.from(expected.get(n)!));
      }
      expect(hook.evaluate().target_sparsity).toBe(0.8);
      hook.dispose();
      disposeModel(model);
    }
  });

  it('gives each group its own schedule: the first matching group, the default schedule for the rest', () => {
    const model = createModel(cfg, 3);
    const names = selectWeights(model.params.keys());
    const ramp = (finalSparsity: number) => ({ kind: 'cubic', initialSparsity: 0.1, finalSparsity, beginStep: 0, endStep: 4, frequency: 1 }) as const;
    const hook = new PrunerHook(model, names, {
      method: 'magnitude',
      schedule: ramp(0.9),
      groups: [
        { match: 'encoder/layer_0/attention/**', schedule: ramp(0.5) },
        { match: 'encoder/layer_0/**', schedule: { kind: 'one-shot', sparsity: 0.3, step: 2 } },
      ],
    });
    hook.init({ step: 0 } as never);
    hook.afterStep({ step: 1 } as never);
    const perTensor = () => hook.sparsity().perTensor;
    const n = (name: string) => model.params.get(name)!.size;
    const exact = (name: string, target: number) => pruneCount(target, n(name)) / n(name);
    // After step 1: each ramp at its own point of the curve (s_i = 0.1 is not rescaled), the one-shot group still dense.
    const at1 = (sf: number) => makeSchedule(ramp(sf))(1).sparsity;
    expect(perTensor()['encoder/layer_0/attention/query/kernel']).toBe(exact('encoder/layer_0/attention/query/kernel', at1(0.5)));
    expect(perTensor()['encoder/layer_1/attention/query/kernel']).toBe(exact('encoder/layer_1/attention/query/kernel', at1(0.9)));
    expect(perTensor()['encoder/layer_0/intermediate/kernel']).toBe(0);
    for (let t = 2; t <= 4; t++) hook.afterStep({ step: t } as never);
    expect(perTensor()['encoder/layer_0/attention/value/kernel']).toBe(exact('encoder/layer_0/attention/value/kernel', 0.5));
    expect(perTensor()['encoder/layer_0/intermediate/kernel']).toBe(exact('encoder/layer_0/intermediate/kernel', 0.3));
    expect(perTensor()['encoder/layer_1/output/kernel']).toBe(exact('encoder/layer_1/output/kernel', 0.9));
    // The reported target is the groups' targets weighted by their sizes.
    const sizes = {
      attn0: 4 * n('encoder/layer_0/attention/query/kernel'),
      ffn0: n('encoder/layer_0/intermediate/kernel') + n('encoder/layer_0/output/kernel'),
    };
    const total = names.reduce((a, x) => a + n(x), 0);
    expect(hook.evaluate().target_sparsity).toBeCloseTo((0.5 * sizes.attn0 + 0.3 * sizes.ffn0 + 0.9 * (total - sizes.attn0 - sizes.ffn0)) / total, 12);
    hook.dispose();
    disposeModel(model);
  });

  it('with global-magnitude, thresholds are per group', () => {
    const model = createModel(cfg, 5);
    const names = selectWeights(model.params.keys());
    // Scale layer 1 up 100x: one global threshold would prune nearly all of layer 0 first.
    for (const n of names.filter((x) => x.includes('layer_1'))) model.params.get(n)!.assign(tf.mul(model.params.get(n)!, 100));
    const once = (sparsity: number) => ({ kind: 'one-shot', sparsity, step: 0 }) as const;
    const hook = new PrunerHook(model, names, {
      method: 'global-magnitude',
      schedule: once(0.5),
      groups: [{ match: 'encoder/layer_0/**', schedule: once(0.5) }],
    });
    walk(hook, 0);
    const sp = hook.sparsity().perTensor;
    const group = (layer: string) => {
      const ns = names.filter((x) => x.includes(layer));
      const size = ns.reduce((a, x) => a + model.params.get(x)!.size, 0);
      return ns.reduce((a, x) => a + sp[x] * model.params.get(x)!.size, 0) / size;
    };
    expect(group('layer_0')).toBeCloseTo(0.5, 3);
    expect(group('layer_1')).toBeCloseTo(0.5, 3);
    hook.dispose();
    disposeModel(model);
  });
});
