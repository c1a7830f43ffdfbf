import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { distillationHook } from '../../src/distill/hook.js';
import { createModel, disposeModel, snapshotModel, type BertModel } from '../../src/model/bert.js';
import { layerNames } from '../../src/model/weights.js';
import type { RecomputeMode } from '../../src/model/recompute.js';
import { PrunerHook } from '../../src/prune/pruner.js';
import { selectWeights } from '../../src/prune/select.js';
import { QatHook } from '../../src/quant/qat.js';
import { computeGradients } from '../../src/train/gradients.js';
import type { LoopContext, TrainHook } from '../../src/train/hooks.js';
import { trainLoop, type LoopSettings } from '../../src/train/loop.js';
import { AdamW } from '../../src/train/optimizer.js';
import { classificationObjective, mlmObjective, type Batch, type Objective } from '../../src/train/tasks.js';
import { Rng } from '../../src/util/rng.js';
import { tinyConfig, useTestBackend } from '../helpers.js';
import { cycle, fixedClsBatch, fixedMlmBatch } from './fixtures.js';

beforeAll(async () => {
  await useTestBackend();
});

// Dropout on: the recomputed layers must drop the very elements the forward dropped.
const cfg = tinyConfig({ vocabSize: 70, numLayers: 3, hiddenDropout: 0.1, attentionDropout: 0.1 });

/** Largest |a - b| over each tensor, relative to that tensor's largest |a| (gradients differ in scale by orders of magnitude). */
function maxRelDiff(a: Map<string, { data: Float32Array }>, b: Map<string, { data: Float32Array }>): number {
  let m = 0;
  for (const [k, w] of a) {
    const v = b.get(k)!.data;
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < v.length; i++) {
      scale = Math.max(scale, Math.abs(w.data[i]));
      diff = Math.max(diff, Math.abs(v[i] - w.data[i]));
    }
    // The floor: a key bias's gradient is zero in exact arithmetic (softmax ignores a shift), ~1e-14 here.
    m = Math.max(m, diff / Math.max(scale, 1e-6));
  }
  return m;
}

function maxDiff(a: Map<string, { data: Float32Array }>, b: Map<string, { data: Float32Array }>): number {
  let m = 0;
  for (const [k, w] of a) {
    const v = b.get(k)!.data;
    for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i] - w.data[i]));
  }
  return m;
}

/** Loss, gradients (as data) and the live bytes at the end of the forward (what the tape holds). */
function gradientsOf<B extends Batch>(model: BertModel, objective: Objective<B>, batch: B, hooks: TrainHook<B>[], recompute: RecomputeMode) {
  const ctx = { model, objective, optimizer: new AdamW(), step: 0, totalSteps: 1, rng: new Rng(0) } as LoopContext<B>;
  let forwardBytes = 0;
  const probe: TrainHook<B> = {
    name: 'probe',
    loss: (_c, _b, _o, total) => {
      forwardBytes = tf.memory().numBytes;
      return total;
    },
  };
  for (const h of hooks) h.init?.(ctx);
  const r = computeGradients(ctx, batch, [...hooks, probe], { training: true, rng: new Rng(11), recompute }, model.params);
  const grads = new Map([...r.grads].map(([k, g]) => [k, { data: g.dataSync() as Float32Array }]));
  const metrics = Object.fromEntries([...r.metrics].map(([k, t]) => [k, t.dataSync()[0]]));
  const loss = r.loss.dataSync()[0];
  tf.dispose([r.loss, ...r.grads.values(), ...r.metrics.values()]);
  return { loss, grads, metrics, forwardBytes };
}

describe('recomputation of encoder layers (train.recompute: layers)', () => {
  it('gives the loss and gradients of the plain backward pass: MLM + KD (with hidden states) + pruning masks, dropout on', () => {
    const teacher = createModel({ ...cfg, hiddenSize: 32, numHeads: 4, intermediateSize: 64 }, 9);
    const student = createModel(cfg, 3);
    // Prune once first, so the gradients are those of a masked student, as in the prune stage.
    const pruner = new PrunerHook<Batch>(student, selectWeights(student.params.keys()), {
      method: 'magnitude',
      schedule: { kind: 'one-shot', sparsity: 0.7, step: 0 },
    });
    pruner.init({ model: student, step: 0 } as never);
    const zeros = [...student.params].filter(([k]) => k.endsWith('query/kernel')).map(([, v]) => (v.dataSync() as Float32Array).filter((x) => x === 0).length);
    expect(zeros[0]).toBeGreaterThan(0);
    const batch = fixedMlmBatch(70, 4, 12, 1);
    const hook = () => distillationHook<Batch>(teacher, { hiddenWeight: 1 }, 1);
    const plain = gradientsOf(student, mlmObjective, batch, [hook()], 'none');
    const before = tf.memory().numTensors;
    const recomputed = gradientsOf(student, mlmObjective, batch, [hook()], 'layers');
    // The hook's projection variable is made at init, once per hook: count the run's own tensors only.
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(1);
    expect(recomputed.loss).toBeCloseTo(plain.loss, 5);
    expect(recomputed.metrics.kd_loss).toBeCloseTo(plain.metrics.kd_loss, 5);
    expect(recomputed.metrics.hidden_loss).toBeCloseTo(plain.metrics.hidden_loss, 5);
    expect([...recomputed.grads.keys()].sort()).toEqual([...plain.grads.keys()].sort());
    expect(maxDiff(plain.grads, recomputed.grads)).toBeLessThan(1e-5);
    expect(maxRelDiff(plain.grads, recomputed.grads)).toBeLessThan(1e-3);
    // Not vacuous: the encoder's gradients are there and not zero.
    const g = plain.grads.get(layerNames(0).query.kernel)!.data;
    expect(Math.max(...Array.from(g, Math.abs))).toBeGreaterThan(1e-8);
    // The point of it: the forward keeps less for the backward.
    expect(recomputed.forwardBytes).toBeLessThan(plain.forwardBytes);
    pruner.dispose();
    disposeModel(student);
    disposeModel(teacher);
  });

  it('gives the loss and gradients of the plain backward pass on classification', () => {
    const model = createModel(cfg, 5);
    const batch = fixedClsBatch(70, 5, 12, 2);
    const plain = gradientsOf(model, classificationObjective, batch, [], 'none');
    const recomputed = gradientsOf(model, classificationObjective, batch, [], 'layers');
    expect(recomputed.loss).toBeCloseTo(plain.loss, 5);
    expect(maxDiff(plain.grads, recomputed.grads)).toBeLessThan(1e-5);
    expect(maxRelDiff(plain.grads, recomputed.grads)).toBeLessThan(1e-3);
    expect(recomputed.forwardBytes).toBeLessThan(plain.forwardBytes);
    disposeModel(model);
  });

  it('drops different elements without recomputation than with another seed (the dropout check can fail)', () => {
    const model = createModel(cfg, 5);
    const batch = fixedClsBatch(70, 5, 12, 2);
    const ctx = { model, objective: classificationObjective, optimizer: new AdamW(), step: 0, totalSteps: 1, rng: new Rng(0) } as LoopContext<Batch>;
    const lossWith = (seed: number) => {
      const r = computeGradients(ctx, batch, [], { training: true, rng: new Rng(seed), recompute: 'layers' }, model.params);
      const l = r.loss.dataSync()[0];
      tf.dispose([r.loss, ...r.grads.values(), ...r.metrics.values()]);
      return l;
    };
    expect(Math.abs(lossWith(11) - lossWith(12))).toBeGreaterThan(1e-6);
    disposeModel(model);
  });

  it('trains to the same weights over several steps, QAT included (observers see each input once)', async () => {
    const batches = [fixedClsBatch(70, 6, 12, 1), fixedClsBatch(70, 6, 12, 3)];
    const settings = (recompute: RecomputeMode): LoopSettings => ({
      steps: 4,
      learningRate: 3e-3,
      warmupSteps: 1,
      clipNorm: 1,
      seed: 4,
      evalEvery: 0,
      checkpointEvery: 0,
      quiet: true,
      threads: 1,
      recompute,
    });
    const run = async (recompute: RecomputeMode) => {
      const model = createModel(cfg, 7);
      const qat = new QatHook<Batch>(model, selectWeights(model.params.keys()));
      qat.calibrate((opts) => tf.tidy(() => void classificationObjective.logits(model, batches[0], { training: false, ...opts })));
      const result = await trainLoop(model, classificationObjective, cycle(batches), settings(recompute), [qat]);
      const q = qat.quantization();
      const snap = snapshotModel(model);
      qat.dispose();
      disposeModel(model);
      return { snap, result, q };
    };
    const plain = await run('none');
    const recomputed = await run('layers');
    expect(maxDiff(plain.snap.weights, recomputed.snap.weights)).toBeLessThan(2e-5);
    recomputed.result.history.forEach((h, i) => expect(h.loss!).toBeCloseTo(plain.result.history[i].loss!, 4));
    for (const [name, p] of Object.entries(plain.q.inputs)) {
      expect(recomputed.q.inputs[name].scale[0]).toBeCloseTo(p.scale[0], 6);
    }
  });

  it('gives the weights of the plain run with a gradient worker (the worker recomputes too)', async () => {
    const teacher = createModel(cfg, 9);
    const batches = [fixedMlmBatch(70, 6, 12, 1), fixedMlmBatch(70, 6, 12, 2)];
    const run = async (recompute: RecomputeMode, threads: number) => {
      const model = createModel(cfg, 3);
      const settings: LoopSettings = {
        steps: 3,
        learningRate: 3e-3,
        warmupSteps: 1,
        clipNorm: 1,
        seed: 4,
        evalEvery: 0,
        checkpointEvery: 0,
        quiet: true,
        threads,
        recompute,
      };
      await trainLoop(model, mlmObjective, cycle(batches), settings, [distillationHook(teacher, {}, 1)] as never);
      const snap = snapshotModel(model);
      disposeModel(model);
      return snap;
    };
    const plain = await run('none', 2);
    const recomputed = await run('layers', 2);
    expect(maxDiff(plain.weights, recomputed.weights)).toBeLessThan(2e-5);
    disposeModel(teacher);
  });
});
