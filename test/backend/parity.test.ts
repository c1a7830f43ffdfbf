/**
 * The same small forward + backward on every backend that loads here, compared with the pure-JS cpu
 * backend as the reference. On the build machines that is wasm and cpu; where tfjs-node or
 * tfjs-node-gpu install, they are compared too.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { availableBackends, selectBackend } from '../../src/backend/select.js';
import { createModel, disposeModel } from '../../src/model/bert.js';
import { mlmObjective } from '../../src/train/tasks.js';
import { fixedMlmBatch } from '../train/fixtures.js';
import { tinyConfig } from '../helpers.js';

const cfg = tinyConfig({ vocabSize: 80, numLabels: 0 });

async function lossAndGrads(backend: string): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  await selectBackend(backend);
  const model = createModel(cfg, 5);
  const batch = fixedMlmBatch(80, 3, 10, 2);
  const { value, grads } = tf.variableGrads(() => mlmObjective.forward(model, batch, { training: false }).loss, [...model.params.values()]);
  const byVar = new Map([...model.params].map(([k, v]) => [v.name, k]));
  const out = new Map<string, Float32Array>();
  for (const [k, g] of Object.entries(grads)) out.set(byVar.get(k)!, g.dataSync() as Float32Array);
  const loss = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  disposeModel(model);
  return { loss, grads: out };
}

describe('backend parity', () => {
  afterAll(async () => {
    await selectBackend('wasm');
  });

  it('gives the same loss and gradients on every installed backend', async () => {
    const backends = await availableBackends();
    expect(backends).toContain('wasm');
    expect(backends).toContain('cpu');
    const ref = await lossAndGrads('cpu');
    expect(ref.grads.size).toBe([...createModelNames()].length);
    for (const b of backends.filter((x) => x !== 'cpu')) {
      const got = await lossAndGrads(b);
      expect(Math.abs(got.loss - ref.loss), `${b} loss`).toBeLessThan(1e-5);
      for (const [name, g] of ref.grads) {
        const h = got.grads.get(name)!;
        let maxDiff = 0;
        let maxRef = 0;
        for (let i = 0; i < g.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(g[i] - h[i]));
          maxRef = Math.max(maxRef, Math.abs(g[i]));
        }
        expect(maxDiff, `${b} gradient of ${name}`).toBeLessThanOrEqual(1e-5 + 1e-3 * maxRef);
      }
    }
  });
});

function createModelNames(): string[] {
  return [...createModel(cfg, 1).params.keys()];
}
