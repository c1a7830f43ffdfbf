import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from '../../src/checkpoint/format.js';
import { initWeights } from '../../src/model/bert.js';
import { defaultConfig } from '../../src/model/config.js';
import { tempDir } from '../helpers.js';

function sample(): Checkpoint {
  const config = defaultConfig({ vocabSize: 40, hiddenSize: 8, numLayers: 1, numHeads: 2, intermediateSize: 16, maxPositions: 12, numLabels: 2 });
  return {
    config,
    weights: initWeights(config, 3),
    tensors: new Map([['optimizer/m/embeddings/word_embeddings', { shape: [2, 3], data: Float32Array.of(1, -2, 3.5, 0, 1e-8, -0) }]]),
    state: { step: 17, rng: 12345, note: 'héllo' },
  };
}

describe('checkpoint format', () => {
  it('round-trips weights, tensors, config and state exactly', () => {
    const path = join(tempDir(), 'a.ckpt');
    const ckpt = sample();
    saveCheckpoint(path, ckpt);
    const back = loadCheckpoint(path);
    expect(back.config).toEqual(ckpt.config);
    expect(back.state).toEqual(ckpt.state);
    expect([...back.weights.keys()]).toEqual([...ckpt.weights.keys()]);
    for (const [name, w] of ckpt.weights) {
      expect(back.weights.get(name)!.shape).toEqual(w.shape);
      expect(Buffer.from(back.weights.get(name)!.data.buffer).equals(Buffer.from(w.data.buffer))).toBe(true);
    }
    expect(Array.from(back.tensors.get('optimizer/m/embeddings/word_embeddings')!.data)).toEqual(Array.from(Float32Array.of(1, -2, 3.5, 0, 1e-8, -0)));
  });

  it('rejects a truncated file', () => {
    const path = join(tempDir(), 'b.ckpt');
    saveCheckpoint(path, sample());
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 100));
    expect(() => loadCheckpoint(path)).toThrow(/truncated or corrupted/);
  });

  it('rejects a flipped byte', () => {
    const path = join(tempDir(), 'c.ckpt');
    saveCheckpoint(path, sample());
    const bytes = readFileSync(path);
    bytes[bytes.length - 500] ^= 0xff;
    writeFileSync(path, bytes);
    expect(() => loadCheckpoint(path)).toThrow(/checksum mismatch/);
  });

  it('rejects files that are not checkpoints, and missing files', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'x.ckpt'), 'hello world, definitely not a checkpoint file at all....');
    expect(() => loadCheckpoint(join(dir, 'x.ckpt'))).toThrow(/not a prune-once checkpoint/);
    expect(() => loadCheckpoint(join(dir, 'missing.ckpt'))).toThrow(/not found/);
  });
});
