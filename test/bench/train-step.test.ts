import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { benchConfig, randomMlmBatch, torchRefRamp } from '../../src/bench/fixtures.js';
import { aggregateKernels, formatProfile, profileStep, STEP_PHASES } from '../../src/bench/profiler.js';
import {
  formatTrainStepResult,
  runTrainStepBench,
  trainStepIssues,
  type TrainStepBenchOptions,
  type TrainStepBenchResult,
} from '../../src/bench/train-step.js';
import { weightShapes } from '../../src/model/weights.js';
import { pruneCount } from '../../src/prune/masks.js';
import { selectWeights } from '../../src/prune/select.js';
import { useTestBackend } from '../helpers.js';

// Speed is measured by `prune-once bench`, never asserted here: these tests check that the bench
// does the intended work and reports every field.

const TINY: TrainStepBenchOptions = { studentLayers: 2, studentHidden: 32, teacherLayers: 2, teacherHidden: 64, vocab: 200, seq: 16, batch: 4, steps: 2 };

beforeAll(async () => {
  await useTestBackend();
});

/** Sparsity the ramp leaves on the student's encoder kernels after `steps` steps: exact per-tensor counts. */
function expectedSparsity(o: TrainStepBenchOptions, steps: number): number {
  const target = torchRefRamp(o.sparsity ?? 0.9)(steps).sparsity;
  const shapes = new Map(weightShapes(benchConfig(o.studentLayers, o.studentHidden, o.vocab, o.seq)));
  let pruned = 0;
  let total = 0;
  for (const name of selectWeights(shapes.keys())) {
    const n = shapes.get(name)!.reduce((a, b) => a * b, 1);
    pruned += pruneCount(target, n);
    total += n;
  }
  return pruned / total;
}

const positiveFinite = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;

describe('train-step bench', () => {
  it('reports every field, finite and positive, for a tiny configuration, and ends at the ramp value of torch_ref', async () => {
    const before = tf.memory().numTensors;
    const result: TrainStepBenchResult = await runTrainStepBench({ ...TINY, backend: process.env.PRUNE_ONCE_BACKEND || 'wasm' });
    expect(tf.memory().numTensors).toBe(before); // models, masks, moments and teacher logits all released
    for (const k of [
      'tokens_per_s',
      'step_ms',
      'rss_peak_mb',
      'tfjs_tensor_mb',
      'cpu_count',
      'masked_positions',
      'target_sparsity',
      'measured_sparsity',
    ] as const) {
      expect(positiveFinite(result[k]), `${k} = ${result[k]}`).toBe(true);
    }
    expect(result.step_ms_each).toHaveLength(TINY.steps);
    expect(result.step_ms_each.every(positiveFinite)).toBe(true);
    // tokens/s and step_ms describe the same timed steps.
    expect(Math.abs(result.tokens_per_s / ((TINY.batch * TINY.seq * 1000) / result.step_ms) - 1)).toBeLessThan(0.01);
    expect(result).toMatchObject({
      bench: 'train-step',
      steps: 2,
      warmup_steps: 1,
      student_layers: 2,
      student_hidden: 32,
      teacher_layers: 2,
      teacher_hidden: 64,
      vocab: 200,
      seq: 16,
      batch: 4,
      sparsity: 0.9,
      tfjs_version: tf.version_core,
      node_version: process.version,
    });
    expect(result.cpu_model.length).toBeGreaterThan(0);
    if (result.backend === 'wasm') {
      expect(positiveFinite(result.wasm_heap_mb)).toBe(true);
      expect(result.wasm_simd).toBeTypeOf('boolean');
    }
    expect(result.profile).toBeUndefined();
    expect(JSON.parse(JSON.stringify(result))).toEqual(result); // one JSON line, nothing lost
    expect(formatTrainStepResult(result)).toContain('tokens/s');
    // torch_ref's ramp: 0.9 * min(1, i/10) after step i (1 warm-up + 2 timed steps: 0.27).
    expect(result.target_sparsity).toBeCloseTo(0.27, 10);
    expect(result.measured_sparsity).toBeCloseTo(expectedSparsity(TINY, 3), 4);
  });

  it('profiles one step: kernel times by name, op scopes not counted twice', async () => {
    const r = await runTrainStepBench({ ...TINY, steps: 1, warmupSteps: 0, sparsity: 0.5, profile: true, backend: process.env.PRUNE_ONCE_BACKEND || 'wasm' });
    const p = r.profile!;
    expect(p.kernels.length).toBeGreaterThan(5);
    const names = p.kernels.map((k) => k.kernel);
    expect(names).toContain('BatchMatMul');
    expect(names.filter((n) => n.endsWith('__op'))).toEqual([]);
    expect(p.kernels.every((k) => k.ms >= 0 && k.calls >= 1)).toBe(true);
    expect(p.kernels.map((k) => k.ms)).toEqual([...p.kernels.map((k) => k.ms)].sort((a, b) => b - a));
    expect(p.kernels.reduce((a, k) => a + k.share, 0)).toBeCloseTo(1, 2);
    expect(positiveFinite(p.step_ms)).toBe(true);
    expect(p.slowest.length).toBeGreaterThan(0);
    // The tape's copies of saved tensors are nested in other kernels: shown apart, not in the sum.
    expect(p.saved_for_backward.calls).toBeGreaterThan(0);
    expect(p.kernel_ms).toBeLessThanOrEqual(p.step_ms * 1.01);
    expect(formatProfile(p)).toMatch(/BatchMatMul/);
    // Phases in loop order; their kernels are the step's kernels, each counted once.
    expect(p.phases.map((x) => x.phase)).toEqual([...STEP_PHASES]);
    for (const x of p.phases.filter((y) => y.phase !== 'masks')) expect(x.kernel_ms).toBeGreaterThan(0);
    expect(p.phases.reduce((a, x) => a + x.kernel_ms, 0)).toBeCloseTo(p.kernel_ms, 0);
    expect(p.phases.reduce((a, x) => a + x.wall_ms, 0)).toBeLessThanOrEqual(p.step_ms + 0.5);
    expect(formatProfile(p)).toMatch(/student forward \+ losses/);
    // One step at 0.5 final: 0.05 after it.
    expect(r.measured_sparsity).toBeCloseTo(expectedSparsity({ ...TINY, sparsity: 0.5 }, 1), 4);
  });

  it('sums each phase over micro-batches', async () => {
    const r = await runTrainStepBench({ ...TINY, steps: 1, warmupSteps: 0, microBatch: 2, profile: true, backend: process.env.PRUNE_ONCE_BACKEND || 'wasm' });
    const p = r.profile!;
    expect(p.phases.map((x) => x.phase)).toEqual([...STEP_PHASES]);
    expect(p.phases.reduce((a, x) => a + x.kernel_ms, 0)).toBeCloseTo(p.kernel_ms, 0);
    expect(p.phases.find((x) => x.phase === 'backward')!.kernel_ms).toBeGreaterThan(0);
  });
});

describe('train-step bench parts', () => {
  it("profileStep puts the backend's Identity kernel back, also when the profiled run fails", async () => {
    const original = tf.getKernel('Identity', tf.getBackend());
    await expect(
      profileStep(async () => {
        expect(tf.getKernel('Identity', tf.getBackend())).not.toBe(original); // swapped while profiling
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(tf.getKernel('Identity', tf.getBackend())).toBe(original);
  });

  it('ramps like torch_ref: nothing before the first step, recompute every step, hold the final value', () => {
    const s = torchRefRamp(0.9);
    expect(s(0).prune).toBe(false);
    expect(s(1)).toEqual({ prune: true, sparsity: 0.9 * 0.1 });
    expect(s(5).sparsity).toBeCloseTo(0.45, 12);
    expect(s(10)).toEqual({ prune: true, sparsity: 0.9 });
    expect(s(25)).toEqual({ prune: true, sparsity: 0.9 });
  });

  it("builds torch_ref's batch: ids in [5, vocab), ~15% selected, labels = the ids there", () => {
    const b = randomMlmBatch(100, 8, 64, 1);
    expect(b.inputIds.every((id) => id >= 5 && id < 100)).toBe(true);
    const frac = b.maskedPositions.length / (8 * 64);
    expect(frac).toBeGreaterThan(0.1);
    expect(frac).toBeLessThan(0.2);
    expect(Array.from(b.maskedLabels)).toEqual(Array.from(b.maskedPositions, (p) => b.inputIds[p]));
    expect(randomMlmBatch(10, 1, 1, 1).maskedPositions.length).toBe(1); // never empty
  });

  it('uses heads = hidden/64 and a 4x FFN, without dropout', () => {
    const c = benchConfig(2, 256, 1000, 128);
    expect(c).toMatchObject({ numHeads: 4, intermediateSize: 1024, maxPositions: 128, hiddenDropout: 0, attentionDropout: 0 });
    expect(benchConfig(1, 32, 100, 8).numHeads).toBe(1);
  });

  it("names every bad option (with the caller's naming)", () => {
    const issues = trainStepIssues({ ...TINY, batch: 0, studentHidden: 200, sparsity: 1, vocab: 3, warmupSteps: -1 }, (k) => `--${k}`);
    expect(issues.join('\n')).toMatch(/--batch must be a positive integer/);
    expect(issues.join('\n')).toMatch(/--studentHidden must be divisible/);
    expect(issues.join('\n')).toMatch(/--sparsity/);
    expect(issues.join('\n')).toMatch(/--vocab must be at least 6/);
    expect(issues.join('\n')).toMatch(/--warmupSteps/);
    expect(trainStepIssues(TINY)).toEqual([]);
  });

  it('sums kernel times per name (awaiting promised times) and skips scopes', async () => {
    const agg = await aggregateKernels(
      [
        { name: 'A', kernelTimeMs: 1 },
        { name: 'B', kernelTimeMs: Promise.resolve(3) },
        { name: 'A', kernelTimeMs: 1 },
        { name: 'x__op', kernelTimeMs: 10 },
        { name: 'C', kernelTimeMs: { error: 'no timer' } },
      ],
      (n) => !n.endsWith('__op'),
    );
    expect(agg).toEqual([
      { kernel: 'B', ms: 3, calls: 1, share: 0.6 },
      { kernel: 'A', ms: 2, calls: 2, share: 0.4 },
      { kernel: 'C', ms: 0, calls: 1, share: 0 },
    ]);
  });
});
