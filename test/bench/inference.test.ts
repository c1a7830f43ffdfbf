import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatInferenceResult, inferenceIssues, runInferenceBench } from '../../src/bench/inference.js';
import { initWeights } from '../../src/model/bert.js';
import { defaultConfig } from '../../src/model/config.js';
import { exportOnnx } from '../../src/onnx/index.js';
import { tempDir } from '../helpers.js';

// Latency is measured by `prune-once bench inference`, never asserted here; its statistics are
// tested with a scripted clock in test/onnx/runtime.test.ts.

const CFG = defaultConfig({ vocabSize: 50, hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 32, maxPositions: 16, numLabels: 2 });
let modelPath: string;

beforeAll(() => {
  const { bytes } = exportOnnx({ snapshot: { config: CFG, weights: initWeights(CFG, 1, { mlmHead: false }) }, format: 'fp32' });
  modelPath = join(tempDir(), 'tiny.fp32.onnx');
  writeFileSync(modelPath, bytes);
});

describe('inference bench', () => {
  it("reports the file's size, the conditions, and throughput derived from the median as measured", async () => {
    const r = await runInferenceBench(modelPath, { batch: 2, seq: 8, runs: 3, warmup: 1, threads: 1 });
    expect(r).toMatchObject({ bench: 'inference', model: modelPath, batch: 2, seq: 8, runs: 3, warmup: 1, threads: 1, outputs: ['logits'] });
    expect(r.model_bytes).toBe(statSync(modelPath).size);
    expect(r.p90_ms).toBeGreaterThanOrEqual(r.median_ms);
    expect(r.min_ms).toBeGreaterThan(0);
    expect(r.min_ms).toBeLessThanOrEqual(r.median_ms);
    // sequences/s is batch over the median latency; tokens/s is that times seq (rounded as printed).
    const fromMedian = (2 * 1000) / r.median_ms;
    // median_ms is rounded to 0.01 ms and sequences_per_s to 0.1: allow those roundings, no more.
    expect(Math.abs(r.sequences_per_s - fromMedian)).toBeLessThanOrEqual(fromMedian * (0.005 / r.median_ms) + 0.05);
    expect(Math.abs(r.tokens_per_s - r.sequences_per_s * 8)).toBeLessThanOrEqual(0.05 * 8 + 0.5);
    expect(r.ort_version).toMatch(/^\d+\.\d+/);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(formatInferenceResult(r)).toContain(`${r.sequences_per_s} sequences/s (${r.tokens_per_s} tokens/s)`);
  });

  it('says what is wrong with the file or the options', async () => {
    await expect(runInferenceBench(join(tempDir(), 'missing.onnx'), { batch: 1, seq: 8, runs: 1, warmup: 0 })).rejects.toThrow(/no such file/);
    await expect(runInferenceBench(modelPath, { batch: 1, seq: 64, runs: 1, warmup: 0 })).rejects.toThrow(/\[1, 64\] batch/);
    // --seq above the model's positions is named as such, also with a batch that would be slow to build.
    await expect(runInferenceBench(modelPath, { batch: 4096, seq: 64, runs: 1, warmup: 0 })).rejects.toThrow(
      /--seq 64 is above the model's position embeddings: a \[1, 64\] batch fails in ONNX Runtime.*lower --seq/,
    );
    expect(inferenceIssues({ batch: 0, seq: 8, runs: 1, warmup: -1 }, (k) => `--${k}`)).toEqual([
      '--batch must be a positive integer, got 0',
      '--warmup must be an integer >= 0, got -1',
    ]);
  });
});
