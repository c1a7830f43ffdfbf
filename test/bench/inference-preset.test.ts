import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatPresetInferenceResult, presetInferenceIssues, runPresetInferenceBench } from '../../src/bench/inference-preset.js';
import { inspectOnnx } from '../../src/onnx/index.js';
import { tempDir } from '../helpers.js';

// Real ONNX Runtime sessions on the files the bench writes; latency is measured by
// `prune-once bench inference --preset`, never asserted here.

describe('bench inference --preset', () => {
  it("builds the preset's dense fp32 and sparse int8 files and times both on every batch and thread count", async () => {
    const out = tempDir();
    const logs: string[] = [];
    const r = await runPresetInferenceBench({
      preset: 'L2-H128',
      sparsity: 0.9,
      vocab: 512,
      seed: 2,
      embeddingBits: 4,
      seq: 8,
      batches: [2, 1],
      threads: [1, 2],
      runs: 3,
      warmup: 1,
      out,
      log: (m) => logs.push(m),
    });
    expect(r).toMatchObject({ bench: 'inference-preset', preset: 'L2-H128', sparsity: 0.9, embedding_bits: 4, seq: 8, runs: 3, warmup: 1 });
    expect(r.config).toMatchObject({ numLayers: 2, hiddenSize: 128, numHeads: 2, intermediateSize: 512, vocabSize: 512 });

    // One row per batch x threads, sorted by batch then threads, each file timed `runs` times.
    expect(r.rows.map((w) => [w.batch, w.threads])).toEqual([
      [1, 1],
      [1, 2],
      [2, 1],
      [2, 2],
    ]);
    for (const w of r.rows) {
      for (const t of [w.fp32, w.int8]) {
        expect(t.runs).toBe(3);
        expect(t.min_ms).toBeGreaterThan(0);
        expect(t.min_ms).toBeLessThanOrEqual(t.median_ms);
        expect(t.median_ms).toBeLessThanOrEqual(t.p90_ms);
      }
      // The speed-ups are the ratios of the printed figures (rounded to 0.01).
      expect(w.speedup_median).toBeCloseTo(w.fp32.median_ms / w.int8.median_ms, 1);
      expect(w.speedup_min).toBeCloseTo(w.fp32.min_ms / w.int8.min_ms, 1);
    }

    // The files are the preset's shape: a dense fp32 teacher, and an int8 file whose encoder kernels
    // are compact and 90% zeros.
    expect(r.files.map((f) => f.file)).toEqual(['model.teacher.fp32.onnx', 'model.int8.onnx']);
    expect(Object.keys(r.files[0].load_ms)).toEqual(['1', '2']);
    for (const f of r.files) expect(f.bytes).toBe(statSync(join(out, f.file)).size);
    const kernels = (file: string) => inspectOnnx(readFileSync(join(out, file))).initializers.filter((t) => /^encoder\/.*\/kernel$/.test(t.name));
    const dense = kernels('model.teacher.fp32.onnx');
    expect(dense).toHaveLength(12);
    expect(dense.every((t) => t.kind === 'dense' && t.sparsity === 0)).toBe(true);
    expect(dense.map((t) => t.shape).sort()).toEqual([...Array(8).fill([128, 128]), ...Array(2).fill([128, 512]), ...Array(2).fill([512, 128])].sort());
    const sparse = kernels('model.int8.onnx');
    expect(sparse).toHaveLength(12);
    expect(sparse.every((t) => t.kind === 'compact')).toBe(true);
    expect(sparse.map((t) => t.shape).sort()).toEqual(dense.map((t) => t.shape).sort());
    const nz = sparse.reduce((a, t) => a + t.nonZeros!, 0);
    expect(1 - nz / sparse.reduce((a, t) => a + t.numel, 0)).toBeCloseTo(0.9, 3);
    const words = inspectOnnx(readFileSync(join(out, 'model.teacher.fp32.onnx'))).initializers.find((t) => t.name.includes('word'));
    expect(words?.shape).toEqual([512, 128]);

    const text = formatPresetInferenceResult(r);
    expect(text).toMatch(/2 layers, hidden 128 \(FFN 512, vocab 512\), 90% sparse encoder Linears/);
    expect(text).toContain(`| 1 | 2 | ${r.rows[1].fp32.median_ms.toFixed(2)} [${r.rows[1].fp32.min_ms.toFixed(2)}] |`);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(logs.filter((m) => m.startsWith('timing'))).toHaveLength(4);
  });

  it('says what is wrong with the options, naming each flag', () => {
    const flag = (k: string) => `--${k === 'batches' ? 'batch' : k}`;
    const found = presetInferenceIssues(
      { preset: 'L3-H100', sparsity: 1, vocab: 512, embeddingBits: 8, seq: 1024, batches: [0], threads: [0], runs: 1, warmup: 0 },
      flag,
    );
    expect(found.join('\n')).toMatch(/--preset: unknown model preset 'L3-H100'/);
    expect(found.join('\n')).toMatch(/--sparsity must be in \[0, 1\), got 1/);
    expect(found.join('\n')).toMatch(/--batch must be a positive integer, got 0/);
    expect(found.join('\n')).toMatch(/--threads must be a positive integer, got 0/);
    expect(found.join('\n')).toMatch(/--seq must be at most the preset's 512 positions, got 1024/);
    expect(
      presetInferenceIssues({ preset: 'bert-tiny', sparsity: 0.9, vocab: 512, embeddingBits: 8, seq: 8, batches: [], threads: [], runs: 1, warmup: 0 }, flag),
    ).toEqual(['--batch: give at least one', '--threads: give at least one']);
  });
});
