import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compressionIssues, formatCompressionResult, runCompressionBench } from '../../src/bench/compression.js';
import { inspectOnnx } from '../../src/onnx/index.js';
import { tempDir } from '../helpers.js';

describe('bench compression', () => {
  it('exports a pruned, quantized model of the shape asked, and its table recomputes from the files', async () => {
    const out = tempDir();
    const r = await runCompressionBench({ preset: 'bert-tiny', sparsity: 0.9, vocab: 1024, seed: 3, brotliQuality: 4, embeddingBits: 8, out, load: true });
    expect(r.config).toMatchObject({ numLayers: 2, hiddenSize: 128, intermediateSize: 512, vocabSize: 1024 });
    expect(r.files.map((f) => f.file)).toEqual(['model.teacher.fp32.onnx', 'model.int8.onnx', 'model.int8-alt-embeddings.onnx']);
    for (const f of r.files) {
      const bytes = readFileSync(join(out, f.file));
      expect(f.raw).toBe(statSync(join(out, f.file)).size);
      expect(f.gzip).toBe(gzipSync(bytes, { level: 9 }).length);
      expect(f.brotli).toBe(
        brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }).length,
      );
      expect(Object.values(f.parts.bytes).reduce((a, b) => a + b, 0)).toBe(f.raw);
    }
    const [teacher, int8] = r.files;
    // The int8 file's encoder weights are 90% zeros, counted from the decoded compact weights.
    const ins = inspectOnnx(readFileSync(join(out, 'model.int8.onnx')));
    const enc = ins.initializers.filter((t) => /^encoder\/.*\/kernel$/.test(t.name));
    expect(enc).toHaveLength(12);
    expect(enc.every((t) => t.kind === 'compact')).toBe(true);
    const params = enc.reduce((a, t) => a + t.numel, 0);
    const nz = enc.reduce((a, t) => a + t.nonZeros!, 0);
    expect(1 - nz / params).toBeCloseTo(0.9, 3);
    expect(r.ratios.raw).toBeCloseTo(teacher.raw / int8.raw, 10);
    expect(r.ratios.brotli).toBeCloseTo(teacher.brotli / int8.brotli, 10);
    expect(r.ratios.encoder_stored).toBeCloseTo(32 / int8.parts.encoderBitsPerWeight!, 10);
    expect(r.ratios.encoder_theoretical).toBeCloseTo((32 * params) / (8 * nz), 6);
    expect(r.ratios.encoder_stored).toBeGreaterThan(15);
    expect(r.int8SessionMs).toBeGreaterThan(0);
    expect(formatCompressionResult(r)).toMatch(/int8 embedding tables \(--embedding-bits 8\); random \(BERT init.*lower bound/);
  });

  it('with --embedding-bits 4 stores the tables as nibbles: half their int8 bytes, same encoder weights', async () => {
    const opts = { preset: 'bert-tiny', sparsity: 0.9, vocab: 1024, seed: 3, brotliQuality: 4, load: false } as const;
    const [r8, r4] = [await runCompressionBench({ ...opts, embeddingBits: 8 }), await runCompressionBench({ ...opts, embeddingBits: 4, out: tempDir() })];
    expect(r4.embeddingBits).toBe(4);
    expect(r4.files[1].what).toBe('sparse int8, int4 tables');
    const tables = (r: typeof r4) => r.files[1].parts.bytes.embeddings;
    // Tables: 1024 + 512 + 2 rows of 128; scales (4 bytes a row) stay.
    const elements = (1024 + 512 + 2) * 128;
    expect(tables(r8) - tables(r4)).toBe(elements / 2);
    expect(r4.files[1].parts.bytes.encoderLinear).toBe(r8.files[1].parts.bytes.encoderLinear);
    expect(r4.files[2].raw).toBe(r8.files[2].raw); // the float32-table variant does not change
    expect(r4.ratios.brotli).toBeGreaterThan(r8.ratios.brotli);
    expect(formatCompressionResult(r4)).toMatch(/int4 embedding tables \(--embedding-bits 4\)/);
  });

  it('names each bad flag', () => {
    expect(compressionIssues({ preset: 'L7-H100', sparsity: 1, vocab: 0, brotliQuality: 12, embeddingBits: 6 as 4 })).toEqual([
      expect.stringMatching(/^--preset: /),
      '--sparsity must be in [0, 1), got 1',
      '--vocab must be an integer from 2 to 262144, got 0',
      '--brotli-quality must be an integer in 0..11, got 12',
      '--embedding-bits must be 8 or 4, got 6',
    ]);
  });
});
