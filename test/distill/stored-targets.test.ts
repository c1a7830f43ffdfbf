import { beforeAll, describe, expect, it } from 'vitest';
import { clsBatches } from '../../src/data/index.js';
import type { EncodedExamples } from '../../src/data/types.js';
import { distillationHook } from '../../src/distill/hook.js';
import { createModel, disposeModel, snapshotModel } from '../../src/model/bert.js';
import { predictTask } from '../../src/pipeline/evaluate.js';
import { trainLoop } from '../../src/train/loop.js';
import { classificationObjective, type Batch } from '../../src/train/tasks.js';
import { Rng } from '../../src/util/rng.js';
import { tinyConfig, useTestBackend } from '../helpers.js';

beforeAll(async () => {
  await useTestBackend();
});

const cfg = tinyConfig({ vocabSize: 70, maxPositions: 32 });

/** Examples of mixed lengths, so training batches pad wider than the evaluation pass does. */
function split(n: number, seed: number): EncodedExamples {
  const rng = new Rng(seed);
  const examples = Array.from({ length: n }, (_, i) => {
    const len = 3 + rng.int(20);
    return { inputIds: Int32Array.from({ length: len }, (_, t) => (t === 0 ? 2 : 8 + rng.int(60))), tokenTypeIds: new Int32Array(len), label: i % 2 };
  });
  return { seqLen: 24, padId: 0, examples, truncated: 0 };
}

describe("distillation from the teacher's stored logits", () => {
  it.each([1, 2])('trains as running the teacher every step does (%i thread(s)): the same KD loss and weights', async (threads) => {
    const train = split(40, 3);
    const teacher = createModel(cfg, 9);
    // The table finetune-teacher stores: one evaluation pass over the training split.
    const targets = { examples: 40, labels: 2, logits: predictTask(teacher, train, 16).logits };
    const run = async (stored: boolean) => {
      const student = createModel(cfg, 4);
      const hook = distillationHook<Batch>(teacher, { temperature: 2, alphaTask: 0.5, alphaKd: 0.5 }, 1, stored ? targets : undefined);
      const result = await trainLoop(
        student,
        classificationObjective,
        clsBatches(train, { batchSize: 8, seed: 5, padding: 'longest' }),
        { steps: 6, learningRate: 3e-3, warmupSteps: 1, clipNorm: 1, seed: 4, evalEvery: 0, checkpointEvery: 0, quiet: true, threads },
        [hook],
      );
      const snap = snapshotModel(student);
      disposeModel(student);
      return { snap, history: result.history };
    };
    const live = await run(false);
    const stored = await run(true);
    expect(stored.history.map((h) => h.kd_loss)).toEqual(live.history.map((h) => h.kd_loss));
    expect(stored.history.map((h) => h.loss)).toEqual(live.history.map((h) => h.loss));
    for (const [name, w] of live.snap.weights) expect(stored.snap.weights.get(name)!.data, name).toEqual(w.data);
    disposeModel(teacher);
  });

  it('uses the table when it covers the batch, and runs the teacher when it does not', async () => {
    const train = split(20, 6);
    const teacher = createModel(cfg, 9);
    // A table of the wrong examples (all zeros would give another loss): rows outside it fall back.
    const small = { examples: 4, labels: 2, logits: new Float32Array(8) };
    const run = async (targets?: typeof small) => {
      const student = createModel(cfg, 4);
      const result = await trainLoop(
        student,
        classificationObjective,
        clsBatches(train, { batchSize: 8, seed: 5, padding: 'longest' }),
        { steps: 2, learningRate: 3e-3, warmupSteps: 1, clipNorm: 1, seed: 4, evalEvery: 0, checkpointEvery: 0, quiet: true, threads: 1 },
        [distillationHook<Batch>(teacher, {}, 1, targets)],
      );
      disposeModel(student);
      return result.history.map((h) => h.kd_loss);
    };
    const live = await run();
    expect(await run(small)).toEqual(live);
    // A table of zeros over every example is used, so the loss is another one.
    expect(await run({ examples: 20, labels: 2, logits: new Float32Array(40) })).not.toEqual(live);
    disposeModel(teacher);
  });
});
