import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SparseKernel, layoutFromDense, type KernelMode } from '../../src/backend/sparse/spmm.js';
import { matMulChainModel, randomBenchWeight, runSparseInferenceBench, type BenchWeight } from '../../src/bench/sparse-inference.js';
import { createSession } from '../../src/onnx/runtime.js';
import * as ort from 'onnxruntime-node';
import { Rng } from '../../src/util/rng.js';

/** The kernel's output of a chain of weights on x [tokens, in], as [tokens, out]. */
function kernelChain(kernel: SparseKernel, chain: BenchWeight[], x: Float32Array, tokens: number, mode: KernelMode): Float32Array {
  let a = kernel.activation(chain[0].inDim, tokens);
  kernel.write(a, x);
  for (const w of chain) {
    const y = kernel.activation(w.outDim, tokens);
    kernel.linear(kernel.upload(w.layout), a, y, mode);
    a = y;
  }
  return kernel.read(a);
}

async function ortChain(chain: BenchWeight[], x: Float32Array, tokens: number, activationQdq: boolean): Promise<Float32Array> {
  const s = await createSession(matMulChainModel(chain, activationQdq), { threads: 1 });
  try {
    return (await s.run({ x: new ort.Tensor('float32', x, [tokens, chain[0].inDim]) })).y.data as Float32Array;
  } finally {
    await s.release();
  }
}

function maxRelDiff(got: Float32Array, want: Float32Array): number {
  expect(got.length).toBe(want.length);
  const ref = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return got.reduce((m, v, k) => Math.max(m, Math.abs(v - want[k])), 0) / ref;
}

describe('sparse int8 kernel against ONNX Runtime', () => {
  let kernel: SparseKernel;
  beforeAll(async () => {
    kernel = await SparseKernel.create(2);
  });
  afterAll(async () => kernel?.close());

  const rng = new Rng(3);
  const tokens = 21; // not a multiple of 4 or 8
  const chain = [randomBenchWeight(rng, 48, 192, 0.9), randomBenchWeight(rng, 192, 48, 0.9)];
  // Edge cases in the second weight: an empty output row and a fully dense one.
  for (let i = 0; i < 192; i++) {
    chain[1].q[i * 48] = 0;
    chain[1].q[i * 48 + 1] = (i % 254) - 127 || 5;
  }
  chain[1].layout = layoutFromDense(chain[1].q, 192, 48, chain[1].scale);
  const x = Float32Array.from({ length: tokens * 48 }, () => rng.normal());

  it('f32 equals ORT running the same int8 weights in float (weight-only QDQ), through two Linears', async () => {
    const want = await ortChain(chain, x, tokens, false);
    expect(maxRelDiff(kernelChain(kernel, chain, x, tokens, 'f32'), want)).toBeLessThan(1e-5);
  });

  it("i8 agrees with ORT's MatMulIntegerToFloat within the error of activation quantization", async () => {
    const ortInt8 = await ortChain(chain, x, tokens, true);
    // The error ORT's own activation quantization makes (its int8 output against its float one).
    const quantError = maxRelDiff(ortInt8, await ortChain(chain, x, tokens, false));
    expect(quantError).toBeGreaterThan(0);
    // The kernel quantizes differently (symmetric, dynamic scale): its error is of the same size.
    expect(maxRelDiff(kernelChain(kernel, chain, x, tokens, 'i8'), ortInt8)).toBeLessThan(2 * quantError);
  });

  it('the bench times every shape, batch and thread count, with ORT fused to its integer kernel', async () => {
    const r = await runSparseInferenceBench({
      sparsity: 0.9,
      hidden: 32,
      layers: 1,
      seq: 12,
      batches: [1, 2],
      threads: [1, 2],
      seconds: 0.01,
      minRuns: 2,
      seed: 1,
    });
    expect(r.ort_ops).toContain('MatMulIntegerToFloat');
    expect(r.shapes.map((s) => [s.shape, s.linears])).toEqual([
      ['32x128', 1],
      ['128x32', 1],
      ['32x32', 1],
      ['encoder', 6],
    ]);
    for (const s of r.shapes) {
      expect(s.kernel_bytes).toBeLessThan(s.dense_int8_bytes);
      if (s.linears === 1) expect(s.max_rel_diff_f32).toBeLessThan(0.1);
    }
    expect(r.rows).toHaveLength(4 * 2 * 2);
    for (const row of r.rows) {
      expect(row.tokens).toBe(row.batch * 12);
      for (const t of [row.ort_int8, row.sparse_f32, row.sparse_i8]) {
        expect(t.runs).toBeGreaterThanOrEqual(2);
        expect(t.p10_ms).toBeLessThanOrEqual(t.median_ms);
        expect(t.median_ms).toBeLessThanOrEqual(t.p90_ms);
      }
    }
  });
});
