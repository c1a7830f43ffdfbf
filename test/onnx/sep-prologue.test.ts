/**
 * The [SEP] prologue of the transformers.js copies: on rows that end in [SEP] (what prune-once and
 * Python feed) it changes nothing; on a row cut without its [SEP] (transformers.js's truncation) the
 * model sees prune-once's row; the fill-mask graph's logits are the tfjs MLM head's.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, disposeModel, encode, mlmLogits, snapshotModel } from '../../src/model/bert.js';
import { defaultConfig } from '../../src/model/config.js';
import { createSession, decodeOnnx, exportOnnx, readMetadata, runLogits, type Batch } from '../../src/onnx/index.js';
import { addSepPrologue, SEP_PROLOGUE_KEY } from '../../src/onnx/sep-prologue.js';
import { useTestBackend } from '../helpers.js';

const SEP = 3;
const CFG = defaultConfig({ vocabSize: 50, hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, maxPositions: 16, numLabels: 2 });

beforeAll(async () => {
  await useTestBackend();
});

/** Rows of ids (right-padded with 0 to the longest), mask 1 on the ids. */
function batch(rows: number[][]): Batch {
  const seqLen = Math.max(...rows.map((r) => r.length));
  const n = rows.length * seqLen;
  const b: Batch = { batchSize: rows.length, seqLen, inputIds: new Int32Array(n), attentionMask: new Float32Array(n), tokenTypeIds: new Int32Array(n) };
  rows.forEach((r, i) => {
    b.inputIds.set(r, i * seqLen);
    b.attentionMask.fill(1, i * seqLen, i * seqLen + r.length);
  });
  return b;
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('addSepPrologue', () => {
  it('is a no-op on rows ending in [SEP] and restores the [SEP] transformers.js truncation drops', async () => {
    const model = createModel(CFG, 5);
    const bytes = exportOnnx({ snapshot: snapshotModel(model), format: 'fp32' }).bytes;
    disposeModel(model);
    const withPrologue = addSepPrologue(bytes, SEP);
    expect(readMetadata(decodeOnnx(withPrologue))[SEP_PROLOGUE_KEY]).toMatch(/id 3/);
    expect(addSepPrologue(withPrologue, SEP)).toBe(withPrologue); // added once only
    const plain = await createSession(bytes);
    const fixed = await createSession(withPrologue);
    try {
      // prune-once's rows: [CLS] ... [SEP], different lengths, padded.
      const proper = batch([
        [2, 10, 11, 12, SEP],
        [2, 20, SEP],
        [2, 30, 31, 32, 33, 34, 35, SEP],
      ]);
      expect(maxDiff(await runLogits(fixed, proper), await runLogits(plain, proper))).toBe(0);
      // transformers.js's cut row (no [SEP]) through the prologue = prune-once's row through the plain file.
      const cut = batch([[2, 40, 41, 42, 43, 44]]);
      const kept = batch([[2, 40, 41, 42, 43, SEP]]);
      const viaPrologue = await runLogits(fixed, cut);
      expect(maxDiff(viaPrologue, await runLogits(plain, kept))).toBe(0);
      expect(maxDiff(viaPrologue, await runLogits(plain, cut))).toBeGreaterThan(1e-6); // the [SEP] matters (exact equality above)
    } finally {
      await plain.release();
      await fixed.release();
    }
  });

  it('names the inputs it needs', () => {
    expect(() => addSepPrologue(new Uint8Array([0x0a, 0x00]), SEP, 'empty.onnx')).toThrow(/empty.onnx/);
  });
});

describe('exportOnnx head mlm', () => {
  it('outputs logits [batch, sequence, vocab] equal to the tfjs MLM head', async () => {
    const cfg = { ...CFG, numLabels: 0 };
    const model = createModel(cfg, 9);
    const { bytes } = exportOnnx({ snapshot: snapshotModel(model), format: 'fp32', head: 'mlm' });
    const b = batch([
      [2, 5, 6, 7, SEP],
      [2, 8, SEP],
    ]);
    const session = await createSession(bytes);
    try {
      expect(session.outputNames).toEqual(['logits']);
      const out = await session.run({
        input_ids: new ort.Tensor('int64', BigInt64Array.from(b.inputIds, BigInt), [2, b.seqLen]),
        attention_mask: new ort.Tensor(
          'int64',
          BigInt64Array.from(b.attentionMask, (v) => BigInt(v)),
          [2, b.seqLen],
        ),
        token_type_ids: new ort.Tensor('int64', new BigInt64Array(2 * b.seqLen), [2, b.seqLen]),
      });
      expect(out.logits.dims).toEqual([2, b.seqLen, cfg.vocabSize]);
      const ours = tf.tidy(() => {
        const seq = encode(
          model,
          {
            inputIds: tf.tensor2d(b.inputIds, [2, b.seqLen], 'int32'),
            tokenTypeIds: tf.zeros([2, b.seqLen], 'int32') as tf.Tensor2D,
            attentionMask: tf.tensor2d(b.attentionMask, [2, b.seqLen]),
          },
          { training: false },
        ).sequence;
        return mlmLogits(model, seq, tf.range(0, 2 * b.seqLen, 1, 'int32') as tf.Tensor1D).dataSync() as Float32Array;
      });
      expect(maxDiff(out.logits.data as Float32Array, ours)).toBeLessThan(1e-4);
    } finally {
      await session.release();
      disposeModel(model);
    }
  });
});
