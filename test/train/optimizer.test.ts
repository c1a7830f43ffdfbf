import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, disposeModel } from '../../src/model/bert.js';
import { PrunerHook } from '../../src/prune/pruner.js';
import { selectWeights } from '../../src/prune/select.js';
import type { TrainHook } from '../../src/train/hooks.js';
import { trainLoop } from '../../src/train/loop.js';
import { AdamW } from '../../src/train/optimizer.js';
import { mlmObjective } from '../../src/train/tasks.js';
import { makeVariable } from '../../src/util/tensors.js';
import { tinyConfig, useTestBackend } from '../helpers.js';
import { cycle, fixedMlmBatch } from './fixtures.js';

beforeAll(async () => {
  await useTestBackend();
});

const cfg = tinyConfig({ numLayers: 1, numLabels: 0 });

describe('AdamW.maskMoments', () => {
  it('zeroes both moments where the mask is 0 and leaves them where it is 1', () => {
    const opt = new AdamW();
    const w = makeVariable(tf.tensor1d([1, -2, 3, -4]), true, 'w');
    opt.apply(new Map([['w', w]]), new Map([['w', tf.tensor1d([0.5, -1, 2, 0.25])]]), 0.1);
    const before = opt.exportState().tensors;
    const m0 = Array.from(before.get('optimizer/m/w')!.data);
    const v0 = Array.from(before.get('optimizer/v/w')!.data);
    expect(m0.every((x) => x !== 0)).toBe(true);
    opt.maskMoments('w', tf.tensor1d([1, 0, 1, 0]));
    const after = opt.exportState().tensors;
    const plain = (a: Float32Array) => Array.from(a, (x) => (x === 0 ? 0 : x)); // -0 and +0 alike
    expect(plain(after.get('optimizer/m/w')!.data)).toEqual([m0[0], 0, m0[2], 0]);
    expect(plain(after.get('optimizer/v/w')!.data)).toEqual([v0[0], 0, v0[2], 0]);
    opt.dispose();
    w.dispose();
  });

  it('under the pruner, pruned weights carry no momentum after any step', async () => {
    const model = createModel(cfg, 2);
    const names = selectWeights(model.params.keys());
    // Dense for two steps (moments build up everywhere), then pruned to 70% and held.
    const pruner = new PrunerHook(model, names, { method: 'magnitude', schedule: { kind: 'one-shot', sparsity: 0.7, step: 2 } });
    let checked = 0;
    const probe: TrainHook = {
      name: 'probe',
      afterStep(ctx) {
        if (ctx.step < 2) return;
        const state = ctx.optimizer.exportState().tensors;
        for (const n of names) {
          const w = model.params.get(n)!.dataSync();
          const m = state.get(`optimizer/m/${n}`)!.data;
          const v = state.get(`optimizer/v/${n}`)!.data;
          let pruned = 0;
          let keptMoving = 0;
          for (let i = 0; i < w.length; i++) {
            if (w[i] === 0) {
              pruned++;
              if (m[i] !== 0 || v[i] !== 0) throw new Error(`${n}[${i}] is pruned but has moments m=${m[i]} v=${v[i]} after step ${ctx.step}`);
            } else if (m[i] !== 0) keptMoving++;
          }
          expect(pruned).toBe(Math.floor(0.7 * w.length));
          expect(keptMoving).toBeGreaterThan(0);
        }
        checked++;
      },
    };
    await trainLoop(
      model,
      mlmObjective,
      cycle([fixedMlmBatch(60, 4, 12, 1)]),
      { steps: 5, learningRate: 1e-2, warmupSteps: 0, clipNorm: 1, seed: 1, evalEvery: 0, checkpointEvery: 0, quiet: true },
      [pruner, probe],
    );
    expect(checked).toBe(4);
    pruner.dispose();
    disposeModel(model);
  });
});
