import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { classifierLogits, createModel, denseLinear, disposeModel, encode, type ForwardOptions, type LinearFn } from '../../src/model/bert.js';
import { EMBEDDING_TABLES } from '../../src/model/weights.js';
import { PatternLockHook } from '../../src/prune/pattern-lock.js';
import { PrunerHook } from '../../src/prune/pruner.js';
import { selectWeights } from '../../src/prune/select.js';
import { quantizedForward } from '../../src/quant/linear.js';
import { QatHook } from '../../src/quant/qat.js';
import { dequantizeArray, embeddingSpecOf, INT4_EMBEDDINGS, INT8_WEIGHTS, quantizeArray, weightParams } from '../../src/quant/quantize.js';
import { quantizationFromJson, quantizationToJson } from '../../src/quant/serialize.js';
import { trainLoop } from '../../src/train/loop.js';
import { classificationObjective, encoderInputs, type Batch } from '../../src/train/tasks.js';
import { tinyConfig, useTestBackend } from '../helpers.js';
import { cycle, fixedClsBatch } from '../train/fixtures.js';

beforeAll(async () => {
  await useTestBackend();
});

const cfg = tinyConfig();

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
    const result = await trainLoop(
      model,
      classificationObjective,
      cycle(batches),
      { steps: 30, learningRate: 3e-3, warmupSteps: 0, clipNorm: 1, seed: 1, evalEvery: 0, checkpointEvery: 0, quiet: true },
      [lock, qat],
    );
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

    // The hook's eval forward against an independent computation: each quantized Linear layer
    // computed from the exporter's integers (quantizeArray / dequantizeArray on plain arrays).
    const exporterLinear: LinearFn = (name, x, kernel, bias) => {
      const wp = q.weights[name];
      const ip = q.inputs[name];
      if (!wp || !ip) return denseLinear(name, x, kernel, bias);
      const xs = [...x.shape];
      const xDeq = dequantizeArray(quantizeArray(x.dataSync() as Float32Array, xs, ip, q.activationSpec), xs, ip);
      const ks = [...kernel.shape];
      const wDeq = dequantizeArray(quantizeArray(kernel.dataSync() as Float32Array, ks, wp, q.weightSpec), ks, wp);
      return tf.add(tf.matMul(tf.tensor2d(xDeq, xs as [number, number]), tf.tensor2d(wDeq, ks as [number, number])), bias) as tf.Tensor2D;
    };
    const inputs = encoderInputs(batches[0]);
    const logits = (fwd: Partial<ForwardOptions>, training = false) =>
      tf.tidy(() => classifierLogits(model, encode(model, inputs, { training, ...fwd }).sequence, { training: false }).dataSync());
    const float = logits({});
    const hookEval = logits(qat.forwardOptions(null, false));
    const independent = logits({ linear: exporterLinear });
    independent.forEach((v, i) => expect(hookEval[i], `logit ${i}`).toBeCloseTo(v, 5));
    // 8-bit noise: the quantized model is near the float one, and not equal to it.
    let maxDiff = 0;
    float.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - hookEval[i]))));
    expect(maxDiff).toBeGreaterThan(0);
    expect(maxDiff).toBeLessThan(0.2);
    lock.dispose();
    qat.dispose();
    disposeModel(model);
  });

  it("trains with the exporter's parameters: with frozen observers the training forward equals the frozen-parameter forward", () => {
    const model = createModel(cfg, 8);
    const names = selectWeights(model.params.keys());
    const batch = fixedClsBatch(60, 8, 12, 3);
    // Momentum 1: once calibrated, the observers do not move, so training and export see one range.
    const qat = new QatHook<Batch>(model, names, { observerMomentum: 1, weightSpec: { bits: 8, symmetric: true, perChannel: true, narrowRange: false } });
    qat.calibrate((opts) => tf.tidy(() => void classificationObjective.forward(model, batch, { ...opts, training: false })));
    const inputs = encoderInputs(batch);
    const logits = (fwd: Partial<ForwardOptions>) =>
      tf.tidy(() => classifierLogits(model, encode(model, inputs, { training: false, ...fwd }).sequence, { training: false }).dataSync());
    // QAT's fake quantization computes its parameters in tf ops from the live weights and observers;
    // quantizedForward uses the exporter's (paramsFromRange / weightParams on arrays).
    const training = logits(qat.forwardOptions(null, true));
    const frozen = logits(quantizedForward(qat.quantization()));
    expect(Array.from(training)).toEqual(Array.from(frozen));
    qat.dispose();
    disposeModel(model);
  });

  it('quantizes the embedding tables with their own 4-bit spec: integers in [-7, 7], kept through JSON, same forward in training and frozen', async () => {
    const model = createModel(cfg, 5);
    const names = selectWeights(model.params.keys());
    const batch = fixedClsBatch(60, 8, 12, 4);
    const qat = new QatHook<Batch>(model, names, { observerMomentum: 1, quantizeEmbeddings: true, embeddingSpec: INT4_EMBEDDINGS });
    qat.calibrate((opts) => tf.tidy(() => void classificationObjective.forward(model, batch, { ...opts, training: false })));
    await trainLoop(
      model,
      classificationObjective,
      cycle([batch]),
      { steps: 4, learningRate: 3e-3, warmupSteps: 0, clipNorm: 1, seed: 2, evalEvery: 0, checkpointEvery: 0, quiet: true },
      [qat],
    );
    const q = qat.quantization();
    expect(q.weightSpec).toEqual(INT8_WEIGHTS);
    expect(q.embeddingSpec).toEqual(INT4_EMBEDDINGS);
    expect(Object.keys(q.embeddings).sort()).toEqual([...EMBEDDING_TABLES].sort());
    for (const name of EMBEDDING_TABLES) {
      const t = model.params.get(name)!;
      const ints = quantizeArray(t.dataSync() as Float32Array, [...t.shape], q.embeddings[name], embeddingSpecOf(q));
      expect(q.embeddings[name]).toMatchObject({ axis: 0, dtype: 'int8' });
      expect(q.embeddings[name].scale).toHaveLength(t.shape[0]);
      expect(Math.min(...ints), name).toBeGreaterThanOrEqual(-7);
      expect(Math.max(...ints), name).toBeLessThanOrEqual(7);
      // Each row's largest magnitude maps to +-7 (rows that are all zero aside).
      expect(Math.max(...Array.from(ints, Math.abs)), name).toBe(7);
    }
    // Kernels stay 8-bit: some column reaches 127.
    const k = model.params.get(names[0])!;
    expect(Math.max(...Array.from(quantizeArray(k.dataSync() as Float32Array, [...k.shape], q.weights[names[0]], q.weightSpec), Math.abs))).toBe(127);

    const back = quantizationFromJson(JSON.parse(JSON.stringify(quantizationToJson(q))));
    expect(back.embeddingSpec).toEqual(INT4_EMBEDDINGS);
    // Quantization JSON written before embeddingSpec existed: the tables used weightSpec.
    const { embeddingSpec: _, ...old } = quantizationToJson(q) as Record<string, unknown>;
    expect(embeddingSpecOf(quantizationFromJson(JSON.parse(JSON.stringify(old))))).toEqual(INT8_WEIGHTS);

    // The training forward (tf-op parameters) equals the frozen one (the exporter's parameters), tables included.
    const inputs = encoderInputs(batch);
    const logits = (fwd: Partial<ForwardOptions>) =>
      tf.tidy(() => classifierLogits(model, encode(model, inputs, { training: false, ...fwd }).sequence, { training: false }).dataSync());
    const training = logits(qat.forwardOptions(null, true));
    const frozen = logits(quantizedForward(q));
    expect(Array.from(training)).toEqual(Array.from(frozen));
    // The same tables at 8 bits give other logits: the 4-bit spec is really applied.
    const int8Tables = Object.fromEntries(
      EMBEDDING_TABLES.map((n) => [n, weightParams(model.params.get(n)!.dataSync() as Float32Array, [...model.params.get(n)!.shape], INT8_WEIGHTS, 0)]),
    );
    expect(Array.from(logits(quantizedForward({ ...q, embeddingSpec: INT8_WEIGHTS, embeddings: int8Tables })))).not.toEqual(Array.from(frozen));
    qat.dispose();
    disposeModel(model);
  });
});
