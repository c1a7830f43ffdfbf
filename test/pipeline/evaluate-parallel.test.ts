import { beforeAll, describe, expect, it } from 'vitest';
import type { EncodedExamples } from '../../src/data/types.js';
import { createModel, disposeModel } from '../../src/model/bert.js';
import { predictTask, predictTaskOn } from '../../src/pipeline/evaluate.js';
import { trainLoop } from '../../src/train/loop.js';
import { classificationObjective } from '../../src/train/tasks.js';
import { Rng } from '../../src/util/rng.js';
import { tinyConfig, useTestBackend } from '../helpers.js';
import { cycle, fixedClsBatch } from '../train/fixtures.js';

beforeAll(async () => {
  await useTestBackend();
});

const cfg = tinyConfig({ vocabSize: 70, numLabels: 3, maxPositions: 32 });

/** Examples of mixed lengths (so the length-ordered batches pad differently), three labels. */
function split(n: number, seed: number): EncodedExamples {
  const rng = new Rng(seed);
  const examples = Array.from({ length: n }, (_, i) => {
    const len = 3 + rng.int(20);
    return { inputIds: Int32Array.from({ length: len }, (_, t) => (t === 0 ? 2 : 8 + rng.int(60))), tokenTypeIds: new Int32Array(len), label: i % 3 };
  });
  return { seqLen: 24, padId: 0, examples, truncated: 0 };
}

describe('evaluation shared with the training workers', () => {
  it("gives predictTask's logits, predictions, accuracy and loss to the bit, inside a two-thread training loop", async () => {
    const model = createModel(cfg, 3);
    const dev = split(45, 1);
    const test = split(37, 2);
    const seen: number[] = [];
    const compare = async (data: EncodedExamples, remote: Parameters<typeof predictTaskOn>[3]) => {
      seen.push(remote.length);
      const shared = await predictTaskOn(model, data, 8, remote);
      const alone = predictTask(model, data, 8);
      expect(shared.logits).toEqual(alone.logits);
      expect(shared.predictions).toEqual(alone.predictions);
      expect(shared.metrics).toEqual(alone.metrics);
      return shared.metrics;
    };
    const result = await trainLoop(
      model,
      classificationObjective,
      cycle([fixedClsBatch(70, 6, 12, 1), fixedClsBatch(70, 6, 12, 2)]),
      { steps: 4, learningRate: 3e-3, warmupSteps: 1, clipNorm: 1, seed: 4, evalEvery: 2, checkpointEvery: 0, quiet: true, threads: 2 },
      [],
      {
        evaluate: async (_m, _fwd, remote) => ({ dev_accuracy: (await compare(dev, remote)).accuracy }),
        finish: async (_m, _fwd, remote) => ({ test_accuracy: (await compare(test, remote)).accuracy }),
      },
    );
    // Two evaluations (step 2 and the last) and the test pass, each with the one worker helping.
    expect(seen).toEqual([1, 1, 1]);
    expect(result.evaluations.map((e) => e.step)).toEqual([2, 4]);
    expect(result.final?.test_accuracy).toBe(predictTask(model, test, 8).metrics.accuracy);
    disposeModel(model);
  });

  it('runs on this thread alone when training has no workers', async () => {
    const model = createModel(cfg, 5);
    const seen: number[] = [];
    await trainLoop(
      model,
      classificationObjective,
      cycle([fixedClsBatch(70, 6, 12, 1)]),
      { steps: 2, learningRate: 3e-3, warmupSteps: 1, clipNorm: 1, seed: 4, evalEvery: 0, checkpointEvery: 0, quiet: true, threads: 1 },
      [],
      { evaluate: (_m, _fwd, remote) => (seen.push(remote.length), {}), finish: async (_m, _fwd, remote) => (seen.push(remote.length), {}) },
    );
    expect(seen).toEqual([0, 0]);
    disposeModel(model);
  });
});
