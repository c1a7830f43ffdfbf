import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { classifierLogits, denseLinear, disposeModel, encode, modelFromSnapshot, type ForwardOptions, type LinearFn } from '../../src/model/bert.js';
import { defaultConfig, type BertConfig } from '../../src/model/config.js';
import { encoderLinearKernels, EMB, EMBEDDING_TABLES, weightShapes } from '../../src/model/weights.js';
import type { ModelSnapshot, WeightData } from '../../src/model/snapshot.js';
import { quantizedForward, quantizedLinear } from '../../src/quant/linear.js';
import { dequantizeArray, INT4_EMBEDDINGS, INT8_WEIGHTS, paramsFromRange, quantizeArray, UINT8_ACTIVATIONS, weightParams } from '../../src/quant/quantize.js';
import type { ModelQuantization } from '../../src/quant/types.js';
import { Rng } from '../../src/util/rng.js';
import {
  createSession,
  decodeGaps,
  decodeMask,
  decodeOnnx,
  exportOnnx,
  formatInspection,
  inspectOnnx,
  runLogits,
  type Batch,
  type ExportResult,
} from '../../src/onnx/index.js';
import { gapEntries, gapsBytesFor, maskBytesFor } from '../../src/onnx/compact.js';
import { toNumber, type Long } from '../../src/onnx/proto.js';
import { tempDir, useTestBackend } from '../helpers.js';

const CFG = defaultConfig({ vocabSize: 64, hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, maxPositions: 32, numLabels: 2 });
const THREADS = 1; // the CI machine has two cores shared with other test files

/**
 * Random weights at a scale where every layer matters: kernels ~ N(0, 1/fan_in), non-trivial
 * biases and LayerNorm parameters (fresh BERT init has zero biases and unit gammas, which would
 * hide bugs in how those are wired).
 */
function randomSnapshot(cfg: BertConfig, seed: number): ModelSnapshot {
  const rng = new Rng(seed);
  const weights = new Map<string, WeightData>();
  for (const [name, shape] of weightShapes(cfg, { mlmHead: false })) {
    const n = shape.reduce((a, b) => a * b, 1);
    const std =
      shape.length === 2 && !name.startsWith('embeddings/')
        ? 1 / Math.sqrt(shape[0])
        : name.endsWith('/gamma')
          ? 0.1
          : name.startsWith('embeddings/')
            ? 1
            : 0.1;
    const data = Float32Array.from({ length: n }, () => rng.normal() * std + (name.endsWith('/gamma') ? 1 : 0));
    weights.set(name, { shape, data });
  }
  return { config: { ...cfg }, weights };
}

/** Zeroes the `fraction` smallest magnitudes of a weight (what GMP leaves behind). */
function prune(w: WeightData, fraction: number): WeightData {
  const sorted = Float32Array.from(w.data, Math.abs).sort();
  const threshold = sorted[Math.floor(fraction * sorted.length)];
  return { shape: w.shape, data: w.data.map((v) => (Math.abs(v) < threshold ? 0 : v)) };
}

/** Random rows: ids, a real length of at least 2 then padding, token type 1 for the second segment. */
function randomBatch(rows: number, seq: number, seed: number, vocab = CFG.vocabSize): Batch {
  const rng = new Rng(seed);
  const n = rows * seq;
  const inputIds = new Int32Array(n);
  const attentionMask = new Float32Array(n);
  const tokenTypeIds = new Int32Array(n);
  for (let r = 0; r < rows; r++) {
    const len = 2 + rng.int(seq - 1);
    const split = 1 + rng.int(len - 1);
    for (let s = 0; s < seq; s++) {
      const i = r * seq + s;
      inputIds[i] = rng.int(vocab);
      attentionMask[i] = s < len ? 1 : 0;
      tokenTypeIds[i] = s >= split && s < len ? 1 : 0;
    }
  }
  return { inputIds, attentionMask, tokenTypeIds, batchSize: rows, seqLen: seq };
}

function tfjsLogits(snapshot: ModelSnapshot, batch: Batch, linear?: LinearFn | Partial<ForwardOptions>): Float32Array {
  const fwd = typeof linear === 'function' ? { linear } : (linear ?? {});
  const model = modelFromSnapshot(snapshot);
  try {
    return tf.tidy(() => {
      const dims: [number, number] = [batch.batchSize, batch.seqLen];
      const inputs = {
        inputIds: tf.tensor2d(batch.inputIds, dims, 'int32'),
        tokenTypeIds: tf.tensor2d(batch.tokenTypeIds, dims, 'int32'),
        attentionMask: tf.tensor2d(batch.attentionMask, dims, 'float32'),
      };
      const enc = encode(model, inputs, { ...fwd, training: false });
      return classifierLogits(model, enc.sequence, { training: false }).dataSync() as Float32Array;
    });
  } finally {
    disposeModel(model);
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function argmaxAgreement(a: Float32Array, b: Float32Array, labels: number): number {
  const rows = a.length / labels;
  const am = (x: Float32Array, r: number) => {
    let best = 0;
    for (let c = 1; c < labels; c++) if (x[r * labels + c] > x[r * labels + best]) best = c;
    return best;
  };
  let same = 0;
  for (let r = 0; r < rows; r++) if (am(a, r) === am(b, r)) same++;
  return same / rows;
}

async function ortLogits(bytes: Uint8Array, batch: Batch, opts: { optimizedModelFilePath?: string } = {}): Promise<Float32Array> {
  const session = await createSession(bytes, { threads: THREADS, ...opts });
  try {
    return await runLogits(session, batch);
  } finally {
    await session.release();
  }
}

/** Dense integer values of a weight in the decoded file, with its sparse non-zero positions if sparse. */
function storedInts(bytes: Uint8Array, name: string): { values: Int8Array; sparsePositions?: number[]; layout?: string } {
  const g = decodeOnnx(bytes).graph!;
  const dense = g.initializer!.find((t) => t.name === name);
  // Decoded bytes are views into the file's buffer: copy before reinterpreting.
  const copy = (u: Uint8Array) => new Uint8Array(u).buffer;
  if (dense) return { values: new Int8Array(copy(dense.rawData!)) };
  const part = (suffix: string) => g.initializer!.find((t) => t.name === `${name}/${suffix}`);
  const [mask, gaps, valuesPart] = [part('mask'), part('gaps'), part('values')];
  if (valuesPart && (mask || gaps)) {
    const shape = weightShapes(CFG, { mlmHead: false }).find(([n]) => n === name)![1];
    const values = new Int8Array(copy(valuesPart.rawData!));
    const index = new Uint8Array(copy((mask ?? gaps)!.rawData!));
    return { values: (mask ? decodeMask(name, shape, index, values) : decodeGaps(name, shape, index, values)) as Int8Array };
  }
  const sp = g.sparseInitializer!.find((s) => s.values!.name === name);
  if (!sp) throw new Error(`no initializer '${name}' in the file`);
  const dims = sp.dims!.map((d) => toNumber(d as number | Long));
  const vals = new Int8Array(copy(sp.values!.rawData!));
  const raw = copy(sp.indices!.rawData!);
  const idxDims = sp.indices!.dims!.map((d) => toNumber(d as number | Long));
  const typed = { 3: Int8Array, 5: Int16Array, 6: Int32Array }[sp.indices!.dataType as 3 | 5 | 6];
  const idx = typed ? Array.from(new typed(raw)) : Array.from(new BigInt64Array(raw), Number);
  const positions = idxDims.length === 2 ? vals.map((_, k) => idx[2 * k] * dims[1] + idx[2 * k + 1]) : idx;
  const values = new Int8Array(dims[0] * dims[1]);
  Array.from(positions).forEach((p, k) => (values[p] = vals[k]));
  return { values, sparsePositions: Array.from(positions), layout: idxDims.length === 2 ? 'coo' : 'linear' };
}

const nonZeroPositions = (a: ArrayLike<number>) => Array.from(a).flatMap((v, i) => (v !== 0 ? [i] : []));

beforeAll(async () => {
  await useTestBackend();
});

describe('fp32 export', () => {
  const snapshot = randomSnapshot(CFG, 1);
  // Pure and deterministic: each test reads the same export, none depends on another having run.
  const fp32 = exportOnnx({ snapshot, format: 'fp32', metadata: { labels: 'neg,pos', tool_version: '0.1.0' } });

  it('matches the tfjs forward within 1e-4 (padding, both token types, two sequence lengths)', async () => {
    for (const [rows, seq, seed] of [
      [64, 12, 2],
      [16, 5, 3],
    ]) {
      const batch = randomBatch(rows, seq, seed);
      const expected = tfjsLogits(snapshot, batch);
      const got = await ortLogits(fp32.bytes, batch);
      expect(maxAbsDiff(got, expected)).toBeLessThan(1e-4);
    }
  });

  it('reports every weight dense float32 with honest bytes', () => {
    const shapes = weightShapes(CFG, { mlmHead: false });
    expect(fp32.tensors.map((t) => t.name)).toEqual(shapes.map(([n]) => n));
    for (const t of fp32.tensors) {
      expect(t).toMatchObject({ dtype: 'float32', storage: 'dense', bytes: t.numel * 4, denseBytes: t.numel * 4 });
      expect(t.nonZeros).toBe(Array.from(snapshot.weights.get(t.name)!.data).filter((v) => v !== 0).length);
    }
  });

  it('is inspected back to the same figures', () => {
    const ins = inspectOnnx(fp32.bytes, { source: 'fp32.onnx' });
    expect(ins).toMatchObject({ irVersion: 8, opset: 17, producer: { name: 'prune-once', version: '0.1.0' } });
    // The exporter adds the encoder sparsity of what it stored, recomputed here from the weights.
    const kernels = Array.from({ length: CFG.numLayers }, (_, i) => encoderLinearKernels(i)).flat();
    const zeros = kernels.reduce((a, k) => a + Array.from(snapshot.weights.get(k)!.data).filter((v) => v === 0).length, 0);
    const params = kernels.reduce((a, k) => a + snapshot.weights.get(k)!.data.length, 0);
    expect(ins.metadata).toEqual({
      producer_name: 'prune-once',
      format: 'fp32',
      encoder_sparsity: (zeros / params).toFixed(6),
      labels: 'neg,pos',
      tool_version: '0.1.0',
    });
    expect(ins.inputs.map((i) => [i.name, i.dtype, i.shape])).toEqual([
      ['input_ids', 'int64', ['batch', 'sequence']],
      ['attention_mask', 'int64', ['batch', 'sequence']],
      ['token_type_ids', 'int64', ['batch', 'sequence']],
    ]);
    expect(ins.outputs).toEqual([{ name: 'logits', dtype: 'float32', shape: ['batch', 2] }]);
    for (const t of fp32.tensors) {
      const found = ins.initializers.find((x) => x.name === t.name)!;
      expect(found).toMatchObject({ kind: 'dense', dtype: 'float32', shape: t.shape, nonZeros: t.nonZeros, bytes: t.bytes, location: 'raw_data' });
    }
    const weightBytes = fp32.tensors.reduce((a, t) => a + t.bytes, 0);
    // Besides the weights, only small graph constants (shapes, scalars).
    expect(ins.totals.bytes - weightBytes).toBeGreaterThan(0);
    expect(ins.totals.bytes - weightBytes).toBeLessThan(200);
    expect(ins.totals.sparse).toBe(0);
    expect(ins.quantization.format).toBe('none');
    expect(ins.opCounts.LayerNormalization).toBe(1 + 2 * CFG.numLayers);
    expect(ins.opCounts.Erf).toBe(CFG.numLayers);
  });

  for (const act of ['gelu_tanh', 'relu'] as const) {
    it(`matches tfjs with hiddenAct '${act}'`, async () => {
      const snap = randomSnapshot({ ...CFG, hiddenAct: act }, 5);
      const batch = randomBatch(16, 8, 6);
      const got = await ortLogits(exportOnnx({ snapshot: snap, format: 'fp32' }).bytes, batch);
      expect(maxAbsDiff(got, tfjsLogits(snap, batch))).toBeLessThan(1e-4);
    });
  }

  it('exports an encoder without a classification head as last_hidden_state', async () => {
    const cfg = { ...CFG, numLabels: 0 };
    const snap = randomSnapshot(cfg, 7);
    const batch = randomBatch(4, 6, 8);
    const session = await createSession(exportOnnx({ snapshot: snap, format: 'fp32' }).bytes, { threads: THREADS });
    const dims = [batch.batchSize, batch.seqLen];
    const big = (a: ArrayLike<number>) => BigInt64Array.from(Array.from(a, (v) => BigInt(v)));
    const { Tensor } = await import('onnxruntime-node');
    const out = await session.run({
      input_ids: new Tensor('int64', big(batch.inputIds), dims),
      attention_mask: new Tensor('int64', big(batch.attentionMask), dims),
      token_type_ids: new Tensor('int64', big(batch.tokenTypeIds), dims),
    });
    await expect(runLogits(session, batch)).rejects.toThrow(/no 'logits' output/);
    await session.release();
    const model = modelFromSnapshot(snap);
    const expected = tf.tidy(
      () =>
        encode(
          model,
          {
            inputIds: tf.tensor2d(batch.inputIds, [4, 6], 'int32'),
            tokenTypeIds: tf.tensor2d(batch.tokenTypeIds, [4, 6], 'int32'),
            attentionMask: tf.tensor2d(batch.attentionMask, [4, 6]),
          },
          { training: false },
        ).sequence.dataSync() as Float32Array,
    );
    disposeModel(model);
    expect(out.last_hidden_state.dims).toEqual([4, 6, 32]);
    expect(maxAbsDiff(out.last_hidden_state.data as Float32Array, expected)).toBeLessThan(1e-4);
  });
});

describe('int8 export (85-95% sparse, QDQ, compact storage)', () => {
  const dense = randomSnapshot(CFG, 11);
  const snapshot: ModelSnapshot = { config: dense.config, weights: new Map(dense.weights) };
  const kernels = Array.from({ length: CFG.numLayers }, (_, i) => encoderLinearKernels(i)).flat();
  // One kernel barely pruned (dense is smallest) and one 95% pruned (gaps beat the mask), so the choice goes every way.
  const halfPruned = kernels[kernels.length - 1];
  const mostPruned = kernels[0];
  for (const k of kernels) snapshot.weights.set(k, prune(dense.weights.get(k)!, k === halfPruned ? 0.05 : k === mostPruned ? 0.95 : 0.85));
  let q: ModelQuantization;
  let int8: ExportResult;
  const evalBatch = randomBatch(300, 12, 21);
  let tmp: string;

  beforeAll(() => {
    tmp = tempDir('prune-once-onnx-');
    // Calibrate activation ranges by running the float forward with a recording LinearFn.
    const ranges = new Map<string, { min: number; max: number }>();
    const record: LinearFn = (name, x, kernel, bias) => {
      const [lo, hi] = [tf.min(x).dataSync()[0], tf.max(x).dataSync()[0]];
      const r = ranges.get(name) ?? { min: Infinity, max: -Infinity };
      ranges.set(name, { min: Math.min(r.min, lo), max: Math.max(r.max, hi) });
      return denseLinear(name, x, kernel, bias);
    };
    tfjsLogits(snapshot, randomBatch(64, 12, 20), record);
    q = {
      weightSpec: INT8_WEIGHTS,
      activationSpec: UINT8_ACTIVATIONS,
      weights: Object.fromEntries(kernels.map((k) => [k, weightParams(snapshot.weights.get(k)!.data, snapshot.weights.get(k)!.shape, INT8_WEIGHTS)])),
      inputs: Object.fromEntries(kernels.map((k) => [k, paramsFromRange([ranges.get(k)!.min], [ranges.get(k)!.max], UINT8_ACTIVATIONS, -1)])),
      embeddings: {},
      bias: 'float32',
    };
    int8 = exportOnnx({ snapshot, format: 'int8', quantization: q, metadata: { sparsity: '0.85', scheme: 'int8 per-channel QDQ' } });
  });

  it('agrees with the tfjs quantized forward (quantizedLinear)', async () => {
    const expected = tfjsLogits(snapshot, evalBatch, quantizedLinear(q));
    const got = await ortLogits(int8.bytes, evalBatch);
    const float = tfjsLogits(snapshot, evalBatch);
    const diff = maxAbsDiff(got, expected);
    const quantError = maxAbsDiff(float, expected);
    const off = Array.from(got).filter((v, i) => Math.abs(v - expected[i]) > 1e-4).length / got.length;
    // Both sides compute the same integers, scales and zero points; they differ only where float
    // rounding (LayerNorm, softmax, summation order) moves an activation across a quantization
    // step, so one side rounds it up and the other down. That is rare (measured: 99% of logits
    // agree within 1e-6) and moves a logit by about one activation step times a weight, well
    // below the quantization error itself (float vs quantized forward). A wrong scale, zero
    // point, axis or a missing QDQ would shift most logits by about the quantization error.
    expect(off).toBeLessThanOrEqual(0.02);
    expect(diff).toBeLessThan(quantError / 2);
    const agreement = argmaxAgreement(got, expected, 2);
    expect(agreement).toBeGreaterThanOrEqual(0.99);
    console.info(
      `int8 ORT vs tfjs quantized forward: max |diff| ${diff.toExponential(2)}, ${(100 * off).toFixed(2)}% of logits off by > 1e-4; float vs quantized forward: max ${quantError.toExponential(2)}; argmax agreement ${agreement}`,
    );
  });

  it('stores exactly the integers quantizeArray computes, in the smallest of dense, mask and gaps, with no sparse_initializer', () => {
    for (const k of kernels) {
      const w = snapshot.weights.get(k)!;
      const ints = quantizeArray(w.data, w.shape, q.weights[k], INT8_WEIGHTS);
      const stored = storedInts(int8.bytes, k);
      expect(Array.from(stored.values)).toEqual(Array.from(ints));
      const t = int8.tensors.find((x) => x.name === k)!;
      const mask = maskBytesFor(t.numel, t.nonZeros);
      const gaps = gapsBytesFor(gapEntries(ints));
      expect(t.bytes).toBe(Math.min(t.numel, mask, gaps));
      expect(t.storage).toBe(k === halfPruned ? 'dense' : mask <= gaps ? 'mask' : 'gaps');
      // Kept weights are far above half a quantization step, so none rounds to 0.
      expect(nonZeroPositions(stored.values)).toEqual(nonZeroPositions(w.data));
    }
    expect(int8.tensors.filter((t) => kernels.includes(t.name)).map((t) => t.storage)).toEqual(['gaps', ...Array(kernels.length - 2).fill('mask'), 'dense']);
    expect(decodeOnnx(int8.bytes).graph!.sparseInitializer ?? []).toHaveLength(0);
    for (const t of int8.tensors.filter((x) => !kernels.includes(x.name))) expect(t).toMatchObject({ dtype: 'float32', storage: 'dense' });
    const dense = exportOnnx({ snapshot, format: 'int8', quantization: q, storage: 'dense' });
    expect(dense.tensors.every((t) => t.storage === 'dense')).toBe(true);
  });

  it('is folded by ONNX Runtime: one MatMulIntegerToFloat per encoder Linear, on an int8 initializer holding the integers', async () => {
    const path = join(tmp, 'int8.optimized.onnx');
    await ortLogits(int8.bytes, randomBatch(2, 4, 1), { optimizedModelFilePath: path });
    const opt = readFileSync(path);
    const ins = inspectOnnx(opt);
    console.info(`ORT optimized int8 graph ops: ${JSON.stringify(ins.opCounts)}`);
    expect(ins.opCounts['com.microsoft.MatMulIntegerToFloat']).toBe(kernels.length);
    // Nothing of the decoding subgraphs is left to run per inference.
    for (const op of ['CumSum', 'ScatterElements', 'Expand', 'Mod', 'DequantizeLinear']) expect(ins.opCounts[op]).toBeUndefined();
    const g = decodeOnnx(opt).graph!;
    const inits = new Map(g.initializer!.map((t) => [t.name!, t]));
    const weightsSeen: string[] = [];
    for (const n of g.node!.filter((x) => x.opType === 'MatMulIntegerToFloat')) {
      const w = inits.get(n.input![1])!;
      expect(w.dataType).toBe(3); // int8
      const k = kernels.find((name) => name === n.input![1])!;
      const data = snapshot.weights.get(k)!;
      const folded = new Int8Array(new Uint8Array(w.rawData!).buffer);
      expect(Array.from(folded)).toEqual(Array.from(quantizeArray(data.data, data.shape, q.weights[k], INT8_WEIGHTS)));
      weightsSeen.push(k);
    }
    expect(weightsSeen.sort()).toEqual([...kernels].sort());
  });

  it('keeps the COO sparse_initializer as an opt-in, marked ONNX Runtime only', async () => {
    const coo = exportOnnx({ snapshot, format: 'int8', quantization: q, storage: 'sparse-initializer' });
    expect(decodeOnnx(coo.bytes).graph!.sparseInitializer!.length).toBe(kernels.length - 1);
    expect(maxAbsDiff(await ortLogits(coo.bytes, evalBatch), await ortLogits(int8.bytes, evalBatch))).toBe(0);
    const ins = inspectOnnx(coo.bytes);
    expect(ins.metadata.weight_storage).toMatch(/^sparse 11, dense 1; ONNX Runtime only: sparse_initializer with int(8|16)/);
    expect(ins.portability.standard).toBe(false);
    expect(ins.portability.reasons[0]).toMatch(/sparse initializer 'encoder\/layer_0\/attention\/query\/kernel' has int(8|16) indices: ONNX Runtime only/);
    expect(formatInspection(ins)).toMatch(/ONNX Runtime only:/);
    for (const k of kernels) expect(Array.from(storedInts(coo.bytes, k).values)).toEqual(Array.from(storedInts(int8.bytes, k).values));
    expect(inspectOnnx(int8.bytes).portability).toEqual({ standard: true, reasons: [] });
  });

  it("is inspected back to the exporter's figures", () => {
    const ins = inspectOnnx(int8.bytes, { source: 'int8.onnx' });
    expect(ins.metadata).toMatchObject({ format: 'int8', sparsity: '0.85' });
    // The exporter's own entries: the sparsity of the stored integers, and the scheme it used.
    const zeros = kernels.reduce((a, k) => a + Array.from(storedInts(int8.bytes, k).values).filter((v) => v === 0).length, 0);
    const params = kernels.reduce((a, k) => a + snapshot.weights.get(k)!.data.length, 0);
    expect(Number(ins.metadata.encoder_sparsity)).toBeGreaterThan(0.5);
    expect(ins.metadata.encoder_sparsity).toBe((zeros / params).toFixed(6));
    expect(ins.metadata.quantization).toBe(
      'QDQ int8 weights (per-channel symmetric, [-127, 127]), uint8 activations (per-tensor asymmetric), float32 biases, float32 embeddings',
    );
    expect(ins.metadata.weight_storage).toBe('gaps 1, mask 10, dense 1; standard ONNX (opset 17 ops only)');
    for (const t of int8.tensors) {
      const found = ins.initializers.find((x) => x.name === t.name)!;
      const compact = t.storage === 'mask' || t.storage === 'gaps';
      expect(found).toMatchObject({ dtype: t.dtype, shape: t.shape, nonZeros: t.nonZeros, bytes: t.bytes, kind: compact ? 'compact' : t.storage });
      if (compact) expect(found.compact).toMatchObject({ encoding: t.storage, values: `${t.name}/values`, index: `${t.name}/${t.storage}` });
    }
    // The parts of a compact weight are listed once, as the weight.
    expect(ins.initializers.filter((x) => x.name.endsWith('/values') || x.name.endsWith('/gaps') || x.name.endsWith('/mask'))).toEqual([]);
    expect(ins.totals.compact).toBe(kernels.length - 1);
    expect(ins.totals.sparse).toBe(0);
    expect(ins.errors).toEqual([]);
    const Q = ins.quantization;
    expect(Q.format).toBe('qdq');
    expect(Q.weights.map((w) => w.tensor).sort()).toEqual([...kernels].sort());
    expect(Q.weights.every((w) => w.perChannel && w.axis === 1 && w.dtype === 'int8' && w.consumers.join() === 'MatMul')).toBe(true);
    expect(Q.activations).toHaveLength(kernels.length);
    expect(Q.activations.every((a) => a.qdq && a.dtype === 'uint8' && a.consumers.join() === 'MatMul')).toBe(true);
    expect(Q.activationsQuantized).toBe(true);

    const fp32 = exportOnnx({ snapshot, format: 'fp32' });
    const kernelBytes = (r: ExportResult) => r.tensors.filter((t) => kernels.includes(t.name)).reduce((a, t) => a + t.bytes, 0);
    const text = formatInspection(ins);
    expect(text).toMatch(/gaps \(\d+ \+ \d+ B\)/);
    expect(text).toMatch(/mask \(\d+ \+ \d+ B\)/);
    expect(text).toMatch(/per-channel axis 1/);
    console.info(
      `tiny model: fp32 file ${fp32.bytes.length} B (encoder kernels ${kernelBytes(fp32)} B); int8 file ${int8.bytes.length} B (encoder kernels ${kernelBytes(int8)} B, +${int8.tensors.reduce((a, t) => a + (t.quantization?.paramBytes ?? 0), 0)} B scales/zero points)`,
    );
  });

  it('quantizes embedding tables per row when asked', async () => {
    const word = snapshot.weights.get(EMB.word)!;
    const ep = weightParams(word.data, word.shape, INT8_WEIGHTS, 0);
    const qe: ModelQuantization = { ...q, embeddings: { [EMB.word]: ep } };
    const bytes = exportOnnx({ snapshot, format: 'int8', quantization: qe }).bytes;
    // The reference: the same quantized forward with the table replaced by its dequantized integers.
    const ref: ModelSnapshot = { config: snapshot.config, weights: new Map(snapshot.weights) };
    ref.weights.set(EMB.word, { shape: word.shape, data: dequantizeArray(quantizeArray(word.data, word.shape, ep, INT8_WEIGHTS), word.shape, ep) });
    const batch = randomBatch(32, 10, 30);
    expect(maxAbsDiff(await ortLogits(bytes, batch), tfjsLogits(ref, batch, quantizedLinear(qe)))).toBeLessThan(5e-3);
    const w = inspectOnnx(bytes).quantization.weights.find((x) => x.tensor === EMB.word)!;
    expect(w).toMatchObject({ perChannel: true, axis: 0, channels: CFG.vocabSize, consumers: ['Gather'] });
  });

  it('stores 4-bit tables as nibbles: ONNX Runtime agrees with the tfjs quantized forward and folds them to a plain table at load', async () => {
    const tables = Object.fromEntries(
      EMBEDDING_TABLES.map((n) => [n, weightParams(snapshot.weights.get(n)!.data, snapshot.weights.get(n)!.shape, INT4_EMBEDDINGS, 0)]),
    );
    const q4: ModelQuantization = { ...q, embeddingSpec: INT4_EMBEDDINGS, embeddings: tables };
    const int4 = exportOnnx({ snapshot, format: 'int8', quantization: q4 });
    const q8 = {
      ...q,
      embeddings: Object.fromEntries(
        EMBEDDING_TABLES.map((n) => [n, weightParams(snapshot.weights.get(n)!.data, snapshot.weights.get(n)!.shape, INT8_WEIGHTS, 0)]),
      ),
    };
    const int8Tables = exportOnnx({ snapshot, format: 'int8', quantization: q8 });
    const ins = inspectOnnx(int4.bytes);
    expect(ins.errors).toEqual([]);
    expect(ins.metadata.quantization).toMatch(/, int4 per-row embeddings$/);
    expect(ins.metadata.weight_storage).toBe('nibbles 3, gaps 1, mask 10, dense 1; standard ONNX (opset 17 ops only)');
    const ints4 = new Map<string, Int32Array>();
    for (const n of EMBEDDING_TABLES) {
      const w = snapshot.weights.get(n)!;
      const ints = quantizeArray(w.data, w.shape, tables[n], INT4_EMBEDDINGS);
      ints4.set(n, ints);
      expect(Math.min(...ints)).toBe(-7);
      expect(Math.max(...ints)).toBe(7);
      const t = int4.tensors.find((x) => x.name === n)!;
      expect(t).toMatchObject({ storage: 'nibbles', dtype: 'int8', bytes: Math.ceil(w.data.length / 2), denseBytes: w.data.length });
      expect(ins.initializers.find((x) => x.name === n)).toMatchObject({ kind: 'compact', nonZeros: t.nonZeros, bytes: t.bytes });
    }
    // By part: the tables take half the bytes of int8 tables; their per-row scales are the same size.
    const tableBytes = (r: ExportResult) => r.tensors.filter((t) => t.role === 'embedding').reduce((a, t) => a + t.bytes, 0);
    expect(tableBytes(int4)).toBe(tableBytes(int8Tables) / 2); // every table here has an even element count
    expect(ins.parts.bytes.embeddings).toBe(inspectOnnx(int8Tables.bytes).parts.bytes.embeddings - tableBytes(int8Tables) + tableBytes(int4));

    // ONNX Runtime against the tfjs quantized forward with 4-bit tables (quantizedForward: the eval forward QAT trains toward).
    const batch = randomBatch(64, 10, 31);
    const expected = tfjsLogits(snapshot, batch, quantizedForward(q4));
    const path = join(tmp, 'int4-tables.optimized.onnx');
    const got = await ortLogits(int4.bytes, batch, { optimizedModelFilePath: path });
    const diff = maxAbsDiff(got, expected);
    const tableError = maxAbsDiff(tfjsLogits(snapshot, batch, quantizedForward(q8)), expected);
    console.info(`int4 tables: ORT vs tfjs quantized forward max |diff| ${diff.toExponential(2)}; int8 vs int4 tables (tfjs) ${tableError.toExponential(2)}`);
    expect(diff).toBeLessThan(5e-3);
    expect(diff).toBeLessThan(tableError / 2);
    expect(argmaxAgreement(got, expected, 2)).toBeGreaterThanOrEqual(0.98);

    // Folded at load: the optimized graph is op for op the one of the same model with plain int8
    // tables, and the word table is one int8 initializer (behind its DequantizeLinear) holding the 4-bit integers.
    const path8 = join(tmp, 'int8-tables.optimized.onnx');
    await ortLogits(int8Tables.bytes, randomBatch(2, 4, 1), { optimizedModelFilePath: path8 });
    const optIns = inspectOnnx(readFileSync(path));
    console.info(`ORT optimized graph with int4 tables, ops: ${JSON.stringify(optIns.opCounts)}`);
    expect(optIns.opCounts).toEqual(inspectOnnx(readFileSync(path8)).opCounts);
    expect(optIns.opCounts['Mod']).toBeUndefined();
    const opt = decodeOnnx(readFileSync(path)).graph!;
    const producer = (v: string) => opt.node!.find((n) => n.output!.includes(v));
    let gatherTable = opt.node!.find((n) => n.opType === 'Gather' && n.input![1] === 'input_ids')!.input![0];
    if (producer(gatherTable)?.opType === 'DequantizeLinear') gatherTable = producer(gatherTable)!.input![0];
    const table = opt.initializer!.find((t) => t.name === gatherTable)!;
    expect(table, `the Gather on input_ids reads '${gatherTable}', an initializer`).toBeDefined();
    const w = snapshot.weights.get(EMB.word)!;
    expect(table.dims!.map((d) => toNumber(d as number | Long))).toEqual(w.shape);
    const raw = new Uint8Array(table.rawData!).buffer;
    const expectedTable = table.dataType === 1 ? dequantizeArray(ints4.get(EMB.word)!, w.shape, tables[EMB.word]) : Int8Array.from(ints4.get(EMB.word)!);
    expect(Array.from(table.dataType === 1 ? new Float32Array(raw) : new Int8Array(raw))).toEqual(Array.from(expectedTable));
  });
});
