import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, disposeModel, snapshotModel } from '../../src/model/bert.js';
import { trainLoop, type LoopSettings } from '../../src/train/loop.js';
import { AdamW } from '../../src/train/optimizer.js';
import { mlmObjective } from '../../src/train/tasks.js';
import { tinyConfig, useTestBackend } from '../helpers.js';
import { cycle, fixedMlmBatch } from './fixtures.js';

beforeAll(async () => {
  await useTestBackend();
});

const cfg = tinyConfig({ vocabSize: 70, numLabels: 0, hiddenDropout: 0.1, attentionDropout: 0.1 });

describe('AdamW with its moments in JavaScript memory (hostState)', () => {
  it('gives bit-identical weights and moments to the tensor version, clipping included', async () => {
    const batches = [fixedMlmBatch(70, 4, 12, 1), fixedMlmBatch(70, 4, 12, 2)];
    const run = async (hostState: boolean) => {
      const model = createModel(cfg, 3);
      let moments = new Map<string, { data: Float32Array }>();
      // clipNorm small enough that every step clips (the factor path is exercised).
      const settings: LoopSettings = {
        steps: 4,
        learningRate: 1e-2,
        warmupSteps: 1,
        clipNorm: 0.05,
        seed: 4,
        evalEvery: 0,
        checkpointEvery: 0,
        quiet: true,
        threads: 1,
        optimizer: { hostState },
      };
      const result = await trainLoop(model, mlmObjective, cycle(batches), settings, [], {
        saveResume: (_state, tensors) => {
          moments = tensors;
        },
      });
      const snap = snapshotModel(model);
      disposeModel(model);
      return { snap, moments, result };
    };
    const device = await run(false);
    const before = tf.memory().numTensors;
    const host = await run(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(device.result.history.every((h) => h.grad_norm! > 0.05)).toBe(true);
    let compared = 0;
    for (const [k, w] of device.snap.weights) {
      expect(Array.from(host.snap.weights.get(k)!.data), k).toEqual(Array.from(w.data));
      compared++;
    }
    expect(compared).toBeGreaterThan(10);
    expect(host.moments.size).toBe(device.moments.size);
    for (const [k, m] of device.moments) expect(Array.from(host.moments.get(k)!.data), k).toEqual(Array.from(m.data));
  });

  it('masks and restores its moments like the tensor version', () => {
    const opt = new AdamW({ hostState: true });
    const w = tf.variable(tf.tensor1d([1, 2, 3, 4]));
    opt.apply(new Map([['w', w]]), new Map([['w', tf.tensor1d([0.5, -1, 2, 0.25])]]), 0.1);
    const mask = tf.tensor1d([1, 0, 1, 0]);
    opt.maskMoments('w', mask);
    const state = opt.exportState();
    expect(Array.from(state.tensors.get('optimizer/m/w')!.data).map((x) => Math.abs(x) > 0)).toEqual([true, false, true, false]);
    expect(state.tensors.get('optimizer/v/w')!.shape).toEqual([4]);
    const again = new AdamW({ hostState: true });
    again.importState(state.step, state.tensors);
    expect(Array.from(again.exportState().tensors.get('optimizer/v/w')!.data)).toEqual(Array.from(state.tensors.get('optimizer/v/w')!.data));
    tf.dispose([w, mask]);
  });
});
