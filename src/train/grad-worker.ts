/**
 * The gradient worker's entry point (see parallel.ts): rebuilds the student and the hooks from the
 * recipe once, then for every step sets the student's weights, computes the gradients of its share
 * of the batch with the same code as the main thread, and sends them back.
 *
 * Each hook recipe names the module that registers its kind (hooks.ts); importing that module here
 * registers the factory in this thread's registry.
 */
import * as tf from '@tensorflow/tfjs-core';
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from '../backend/select.js';
import type { ClsBatch } from '../data/types.js';
import { wasmHeapMb } from '../util/memory.js';
import { createModel } from '../model/bert.js';
import { Rng } from '../util/rng.js';
import { accumulateGradients } from './gradients.js';
import { workerHooks, type LoopContext, type TrainHook } from './hooks.js';
import { builtModule, type WorkerRecipe } from './parallel.js';
import { classificationObjective, evalBatch, mlmObjective, type Batch } from './tasks.js';

async function main(): Promise<void> {
  const recipe = workerData as WorkerRecipe;
  await selectBackend('wasm');
  const model = createModel(recipe.config, 0);
  const objective = (recipe.objective === 'mlm' ? mlmObjective : classificationObjective) as LoopContext<Batch>['objective'];
  const hooks: TrainHook<Batch>[] = [];
  for (const h of recipe.hooks) {
    await import(builtModule(h.module));
    hooks.push(workerHooks.get(h.kind)(h.data));
  }
  const ctx = { model, objective, step: 0, totalSteps: 0, rng: new Rng(0) } as unknown as LoopContext<Batch>;
  parentPort!.postMessage({ type: 'ready' });
  type Message =
    | { type: 'step'; weights: Array<[string, Float32Array]>; batch: Batch; dropoutSeed: number }
    | { type: 'forward'; weights: Array<[string, Float32Array]>; batches: ClsBatch[] };
  parentPort!.on('message', (m: Message) => {
    try {
      for (const [name, data] of m.weights) {
        const v = model.params.get(name);
        if (!v) throw new Error(`unknown weight '${name}'`);
        tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
      }
      if (m.type === 'forward') {
        // Evaluation batches: the main thread's predictTask code per batch (eval mode, no hook).
        const results = m.batches.map((batch) => evalBatch(model, batch));
        parentPort!.postMessage(
          { type: 'result', result: results },
          results.flatMap((r) => [r.logits.buffer as ArrayBuffer, r.predictions.buffer as ArrayBuffer]),
        );
        return;
      }
      const rng = new Rng(m.dropoutSeed);
      const r = accumulateGradients(ctx, m.batch, hooks, { training: true, rng, recompute: recipe.recompute }, model.params, recipe.microBatch);
      const grads: Array<[string, Float32Array]> = [...r.grads].map(([k, g]) => [k, g.dataSync() as Float32Array]);
      const metrics: Array<[string, number]> = [...r.metrics].map(([k, t]) => [k, t.dataSync()[0]]);
      const loss = r.loss.dataSync()[0];
      tf.dispose([r.loss, ...r.grads.values(), ...r.metrics.values()]);
      parentPort!.postMessage(
        { type: 'result', result: { loss, grads, metrics, heapMb: wasmHeapMb() } },
        grads.map(([, g]) => g.buffer as ArrayBuffer),
      );
    } catch (e) {
      parentPort!.postMessage({ type: 'error', error: (e as Error).stack ?? String(e) });
    }
  });
}

main().catch((e: Error) => parentPort!.postMessage({ type: 'error', error: e.stack ?? String(e) }));
