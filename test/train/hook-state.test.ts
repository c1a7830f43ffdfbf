import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { distillationHook } from '../../src/distill/hook.js';
import { createModel, disposeModel, snapshotModel } from '../../src/model/bert.js';
import type { WeightData } from '../../src/model/snapshot.js';
import { PatternLockHook } from '../../src/prune/pattern-lock.js';
import { PrunerHook, type PrunerSettings } from '../../src/prune/pruner.js';
import { selectWeights } from '../../src/prune/select.js';
import { QatHook } from '../../src/quant/qat.js';
import { quantizationToJson } from '../../src/quant/serialize.js';
import { hookKey, type HookState, type LoopContext } from '../../src/train/hooks.js';
import { trainLoop, type LoopSettings, type LoopState } from '../../src/train/loop.js';
import { classificationObjective, mlmObjective, type Batch } from '../../src/train/tasks.js';
import { tinyConfig, useTestBackend } from '../helpers.js';
import { cycle, fixedClsBatch, fixedMlmBatch } from './fixtures.js';

beforeAll(async () => {
  await useTestBackend();
});

const cfg = tinyConfig();
const loop = (steps: number, checkpointEvery = 0): LoopSettings => ({
  steps,
  learningRate: 1e-2,
  warmupSteps: 0,
  clipNorm: 1,
  seed: 3,
  evalEvery: 0,
  checkpointEvery,
  quiet: true,
});

/** Through JSON and fresh typed arrays, as a checkpoint file stores it. */
function persisted(s: HookState): HookState {
  return {
    tensors: new Map([...s.tensors].map(([k, w]) => [k, { shape: [...w.shape], data: Float32Array.from(w.data) }])),
    json: JSON.parse(JSON.stringify(s.json ?? null)),
  };
}
const values = (m: ReadonlyMap<string, tf.Tensor>) => new Map([...m].map(([k, t]) => [k, Array.from(t.dataSync())]));

describe('hook saveState / loadState', () => {
  it('pruner: a resumed run ends with the weights, masks and target of an uninterrupted one', async () => {
    const settings: PrunerSettings = {
      method: 'magnitude',
      schedule: { kind: 'cubic', initialSparsity: 0, finalSparsity: 0.8, beginStep: 0, endStep: 8, frequency: 3 },
    };
    const batches = [fixedMlmBatch(60, 4, 12, 1), fixedMlmBatch(60, 4, 12, 2)];
    const full = createModel(cfg, 5);
    const names = selectWeights(full.params.keys());
    const fullHook = new PrunerHook(full, names, settings);
    await trainLoop(full, mlmObjective, cycle(batches), loop(10), [fullHook]);

    const part = createModel(cfg, 5);
    let saved: { state: LoopState; tensors: Map<string, WeightData>; weights: ReturnType<typeof snapshotModel> } | null = null;
    const partHook = new PrunerHook(part, names, settings);
    await trainLoop(part, mlmObjective, cycle(batches), loop(10, 4), [partHook], {
      saveResume: (state, tensors) => {
        if (state.step === 4) saved = { state: JSON.parse(JSON.stringify(state)) as LoopState, tensors: new Map(tensors), weights: snapshotModel(part) };
      },
    });
    partHook.dispose();
    const s = saved!;
    expect([...s.tensors.keys()].filter((k) => k.startsWith('hook/pruner/'))).toHaveLength(names.length);

    const resumed = createModel(cfg, 99);
    for (const [n, w] of s.weights.weights) resumed.params.get(n)!.assign(tf.tensor(w.data, w.shape));
    const hook = new PrunerHook(resumed, names, settings);
    await trainLoop(resumed, mlmObjective, cycle(batches), loop(10), [hook], {}, { state: s.state, tensors: s.tensors });
    expect(values(hook.masks)).toEqual(values(fullHook.masks));
    expect(hook.evaluate()).toEqual(fullHook.evaluate());
    for (const n of names) {
      const a = full.params.get(n)!.dataSync();
      const b = resumed.params.get(n)!.dataSync();
      let d = 0;
      for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
      expect(d, n).toBeLessThan(1e-6);
    }
    [hook, fullHook].forEach((h) => h.dispose());
    [full, part, resumed].forEach(disposeModel);
  });

  it('pruner: loadState restores masks and the last target (a fresh hook would recompute at init)', () => {
    const model = createModel(cfg, 6);
    const names = selectWeights(model.params.keys());
    const settings: PrunerSettings = { method: 'magnitude', schedule: { kind: 'one-shot', sparsity: 0.6, step: 0 } };
    const a = new PrunerHook(model, names, settings);
    a.init({ step: 0 } as LoopContext);
    const state = persisted(a.saveState());
    const b = new PrunerHook(model, names, settings);
    b.loadState(state);
    expect(values(b.masks)).toEqual(values(a.masks));
    expect(b.evaluate().target_sparsity).toBe(0.6);
    [a, b].forEach((h) => h.dispose());
    disposeModel(model);
  });

  it('pattern lock: the locked pattern survives a save and load', () => {
    const model = createModel(cfg, 7);
    const names = selectWeights(model.params.keys());
    const prune = new PrunerHook(model, names, { method: 'magnitude', schedule: { kind: 'one-shot', sparsity: 0.5, step: 0 } });
    prune.init({ step: 0 } as LoopContext);
    prune.dispose();
    const lock = new PatternLockHook(model, names);
    lock.init({ step: 0 } as LoopContext);
    const state = persisted(lock.saveState());
    // Weights regrow (as after a crash mid-step), but the restored masks still hold the pattern.
    const original = values(lock.masks);
    for (const n of names) model.params.get(n)!.assign(tf.add(model.params.get(n)!, 1));
    const again = new PatternLockHook(model, names);
    again.loadState(state);
    expect(values(again.masks)).toEqual(original);
    again.afterStep({ step: 1 } as LoopContext);
    expect(again.sparsity().overall).toBeCloseTo(0.5, 2);
    [lock, again].forEach((h) => h.dispose());
    disposeModel(model);
  });

  it("pattern lock: its checkpoint key is its name, and a resume checkpoint with its masks under the pruners' key still resumes them", async () => {
    const model = createModel(cfg, 8);
    const names = selectWeights(model.params.keys());
    const prune = new PrunerHook(model, names, { method: 'magnitude', schedule: { kind: 'one-shot', sparsity: 0.5, step: 0 } });
    prune.init({ step: 0 } as LoopContext);
    prune.dispose();
    const lock = new PatternLockHook(model, names);
    expect(hookKey(lock)).toBe('pattern-lock');
    let saved: { state: LoopState; tensors: Map<string, WeightData> } | undefined;
    const batches = cycle([fixedMlmBatch(60, 4, 12, 1)]);
    await trainLoop(model, mlmObjective, batches, loop(1, 1), [lock], { saveResume: (state, tensors) => (saved = { state, tensors }) });
    const original = values(lock.masks);
    lock.dispose();
    // The same resume point as a prune-once that stored pattern lock under 'pruner' wrote it.
    const { 'pattern-lock': json, ...hooks } = saved!.state.hooks;
    const old = {
      state: { ...saved!.state, hooks: { ...hooks, pruner: json } },
      tensors: new Map([...saved!.tensors].map(([k, w]) => [k.replace(/^hook\/pattern-lock\//, 'hook/pruner/'), w])),
    };
    expect([...old.tensors.keys()].filter((k) => k.startsWith('hook/pruner/'))).toHaveLength(names.length);
    // Weights regrow (as after a crash mid-step): only restored masks bring the pattern back.
    for (const n of names) model.params.get(n)!.assign(tf.add(model.params.get(n)!, 1));
    const again = new PatternLockHook(model, names);
    await trainLoop(model, mlmObjective, batches, loop(2), [again], {}, old);
    expect(values(again.masks)).toEqual(original);
    expect(again.sparsity().overall).toBeCloseTo(0.5, 2);
    again.dispose();
    disposeModel(model);
  });

  it('distillation: the learned hidden-state projection round-trips', async () => {
    const student = createModel({ ...cfg, hiddenSize: 8, intermediateSize: 16 }, 1);
    const teacher = createModel(cfg, 2);
    const hook = distillationHook<Batch>(teacher, { hiddenWeight: 1 }, 4);
    await trainLoop(student, mlmObjective, cycle([fixedMlmBatch(60, 4, 12, 1)]), loop(3), [hook]);
    const trained = values(hook.variables!());
    expect(trained.size).toBe(1);
    const state = persisted(hook.saveState!());
    const fresh = distillationHook<Batch>(teacher, { hiddenWeight: 1 }, 4);
    fresh.loadState!(state);
    expect(values(fresh.variables!())).toEqual(trained);
    tf.dispose([...hook.variables!().values(), ...fresh.variables!().values()]);
    [student, teacher].forEach(disposeModel);
  });

  it('QAT: observers round-trip to the same frozen parameters', () => {
    const model = createModel(cfg, 9);
    const names = selectWeights(model.params.keys());
    const qat = new QatHook<Batch>(model, names);
    const b = fixedClsBatch(60, 8, 12, 1);
    qat.calibrate((opts) => tf.tidy(() => void classificationObjective.forward(model, b, { ...opts, training: false })));
    const state = persisted(qat.saveState());
    const fresh = new QatHook<Batch>(model, names);
    expect(() => fresh.quantization()).toThrow(/calibrate/);
    fresh.loadState(state);
    expect(quantizationToJson(fresh.quantization())).toEqual(quantizationToJson(qat.quantization()));
    [qat, fresh].forEach((h) => h.dispose());
    disposeModel(model);
  });

  it('refuses two hooks with one checkpoint key', async () => {
    const model = createModel(cfg, 1);
    const names = selectWeights(model.params.keys());
    const settings: PrunerSettings = { method: 'magnitude', schedule: { kind: 'one-shot', sparsity: 0.5, step: 0 } };
    const a = new PrunerHook(model, names.slice(0, 3), settings);
    const b = new PrunerHook(model, names.slice(3), settings);
    await expect(trainLoop(model, mlmObjective, cycle([fixedMlmBatch(60, 4, 12, 1)]), loop(1), [a, b])).rejects.toThrow(/share the checkpoint key 'pruner'/);
    const c = new PrunerHook(model, names.slice(3), settings, 'pruner-2');
    await trainLoop(model, mlmObjective, cycle([fixedMlmBatch(60, 4, 12, 1)]), loop(1), [a, c]);
    [a, b, c].forEach((h) => h.dispose());
    disposeModel(model);
  });
});
