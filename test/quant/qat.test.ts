import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { classifierLogits, createModel, disposeModel, encode } from '../../src/model/bert.js';
import { defaultConfig } from '../../src/model/config.js';
import { PatternLockHook } from '../../src/prune/pattern-lock.js';
import { PrunerHook } from '../../src/prune/pruner.js';
import { selectWeights } from '../../src/prune/select.js';
import { quantizedForward } from '../../src/quant/linear.js';
import { QatHook } from '../../src/quant/qat.js';
import { quantizeArray } from '../../src/quant/quantize.js';
import { quantizationFromJson, quantizationToJson } from '../../src/quant/serialize.js';
import { trainLoop } from '../../src/train/loop.js';
import { classificationObjective, encoderInputs, type Batch } from '../../src/train/tasks.js';
import { useTestBackend } from '../helpers.js';
import { cycle, fixedClsBatch } from '../train/fixtures.js';

beforeAll(async () => {
  await useTestBackend();
});

const cfg = defaultConfig({ vocabSize: 60, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 16, numLabels: 2, hiddenDropout: 0, attentionDropout: 0 });

describe('QAT hook', () => {
  it('trains with fake quantization, keeps the pattern, and freezes parameters that reproduce its forward', async () => {
    const model = createModel(cfg, 3);
    const names = selectWeights(model.params.keys());
    // Sparse start, as after transfer.
    const prune = new PrunerHook<Batch>(model, names, { method: 'magnitude', schedule: { kind: 'one-shot', sparsity: 0.7, step: 0 } });
    prune.init({ step: 0 } as never);
    prune.dispose();
    const batches = [fixedClsBatch(60, 8, 12, 1), fixedClsBatch(60, 8, 12, 2)];
    const qat = new QatHook<Batch>(model, names);
    expect(() => qat.quantization()).toThrow(/calibrate before training/);
    for (const b of batches) qat.calibrate((opts) => tf.tidy(() => void classificationObjective.forward(model, b, { ...opts, training: false })));
    const lock = new PatternLockHook<Batch>(model, names);
    const result = await trainLoop(model, classificationObjective, cycle(batches), { steps: 30, learningRate: 3e-3, warmupSteps: 0, clipNorm: 1, seed: 1, evalEvery: 0, checkpointEvery: 0, quiet: true }, [lock, qat]);
    expect(result.history.at(-1)!.loss!).toBeLessThan(result.history[0].loss!);

    const q = qat.quantization();
    expect(Object.keys(q.weights).sort()).toEqual([...names].sort());
    for (const n of names) {
      const w = model.params.get(n)!;
      const data = w.dataSync() as Float32Array;
      const ints = quantizeArray(data, [...w.shape], q.weights[n], q.weightSpec);
      // Pruned weights are still exactly zero and quantize to 0.
      data.forEach((v, i) => v === 0 && expect(ints[i]).toBe(0));
      expect(q.inputs[n].scale[0]).toBeGreaterThan(0);
    }
    // Serialisation keeps the parameters exactly.
    const back = quantizationFromJson(JSON.parse(JSON.stringify(quantizationToJson(q))));
    expect(Array.from(back.weights[names[0]].scale)).toEqual(Array.from(q.weights[names[0]].scale));

    // The quantized forward stays close to the float forward (8-bit noise), and the eval forward of
    // the hook is exactly the forward with the frozen parameters.
    const inputs = encoderInputs(batches[0]);
    const float = classifierLogits(model, encode(model, inputs, { training: false }).sequence, { training: false }).dataSync();
    const quant = classifierLogits(model, encode(model, inputs, { training: false, ...quantizedForward(q) }).sequence, { training: false }).dataSync();
    const hookEval = classifierLogits(model, encode(model, inputs, { training: false, ...qat.forwardOptions(null, false) }).sequence, { training: false }).dataSync();
    expect(Array.from(hookEval)).toEqual(Array.from(quant));
    let maxDiff = 0;
    float.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - quant[i]))));
    expect(maxDiff).toBeGreaterThan(0);
    expect(maxDiff).toBeLessThan(0.2);
    lock.dispose();
    qat.dispose();
    disposeModel(model);
  });
});
