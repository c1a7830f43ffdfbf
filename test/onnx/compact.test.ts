import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initWeights } from '../../src/model/bert.js';
import { defaultConfig } from '../../src/model/config.js';
import { EMB, encoderLinearKernels } from '../../src/model/weights.js';
import {
  CompactEncodingError,
  decodeGaps,
  decodeMask,
  decodeNibbles,
  encodeGaps,
  encodeMask,
  encodeNibbles,
  fitsNibbles,
  gapEntries,
} from '../../src/onnx/compact.js';
import { chooseWeightStorage } from '../../src/onnx/storage.js';
import { checkCompactRoundTrip, createSession, decodeOnnx, exportOnnx, formatInspection, inspectOnnx, runLogits, type Batch } from '../../src/onnx/index.js';
import { onnx } from '../../src/onnx/proto.js';
import { createWebSession } from '../../src/onnx/web-runtime.js';
import { INT4_EMBEDDINGS, INT8_WEIGHTS, paramsFromRange, UINT8_ACTIVATIONS, weightParams } from '../../src/quant/quantize.js';
import type { ModelQuantization } from '../../src/quant/types.js';
import { Rng } from '../../src/util/rng.js';
import { inspectPath } from '../../src/pipeline/inspect.js';
import { partBytesOfFile } from '../../src/report/size-parts.js';
import { tempDir } from '../helpers.js';

/** int8 values with the given fraction of zeros at random positions. */
function sparseInts(n: number, sparsity: number, seed: number): Int8Array {
  const rng = new Rng(seed);
  return Int8Array.from({ length: n }, () => (rng.next() < sparsity ? 0 : (1 + rng.int(127)) * (rng.next() < 0.5 ? -1 : 1)));
}

describe('mask and gap encodings', () => {
  it('round-trip, including long gaps, all-zero, dense and odd lengths', () => {
    const cases: Int8Array[] = [
      sparseInts(128 * 96, 0.9, 1),
      sparseInts(1001, 0.5, 2),
      sparseInts(77, 0, 3),
      new Int8Array(300),
      Int8Array.from({ length: 2000 }, (_, i) => (i === 0 || i === 255 || i === 256 || i === 1021 || i === 1999 ? -7 : 0)),
    ];
    for (const v of cases) {
      const shape = [v.length];
      expect(Array.from(decodeMask('t', shape, encodeMask(v).mask, encodeMask(v).values))).toEqual(Array.from(v));
      const g = encodeGaps(v);
      expect(g.gaps.length).toBe(gapEntries(v));
      expect(Array.from(decodeGaps('t', shape, g.gaps, g.values))).toEqual(Array.from(v));
    }
  });

  it('bridge a gap above 255 with filler entries of value 0, and pack the mask LSB first', () => {
    const v = new Int8Array(600);
    v[0] = 5;
    v[520] = -3;
    const g = encodeGaps(v);
    expect(Array.from(g.gaps)).toEqual([1, 255, 255, 10]);
    expect(Array.from(g.values)).toEqual([5, 0, 0, -3]);
    const m = encodeMask(Int8Array.from([0, 4, 0, 0, 0, 0, 0, 0, 9]));
    expect(Array.from(m.mask)).toEqual([0b10, 0b1]);
    expect(Array.from(m.values)).toEqual([4, 9]);
  });

  it('cost 1.6-1.8 bits a weight at 90% random sparsity', () => {
    const v = sparseInts(256 * 1024, 0.9, 4);
    const bits = (bytes: number) => (8 * bytes) / v.length;
    const m = encodeMask(v);
    const g = encodeGaps(v);
    expect(bits(m.mask.length + m.values.length)).toBeCloseTo(1.8, 1);
    expect(bits(g.gaps.length + g.values.length)).toBeCloseTo(1.6, 1);
  });
});

/** int8 values in [lo, hi], uniformly. */
function smallInts(n: number, lo: number, hi: number, seed: number): Int8Array {
  const rng = new Rng(seed);
  return Int8Array.from({ length: n }, () => lo + rng.int(hi - lo + 1));
}

describe('nibble encoding (4-bit integers, two a byte)', () => {
  it('round-trips every value of [-8, 7], odd and even lengths, empty included', () => {
    for (const n of [0, 1, 2, 7, 16, 1001, 128 * 96]) {
      const v = smallInts(n, -8, 7, n + 1);
      const e = encodeNibbles('t', v);
      expect(e.packed.length).toBe(Math.ceil(n / 2));
      expect(Array.from(decodeNibbles('t', [n], e.packed))).toEqual(Array.from(v));
    }
    const v = smallInts(6 * 5, -7, 7, 3);
    expect(Array.from(decodeNibbles('t', [6, 5], encodeNibbles('t', v).packed))).toEqual(Array.from(v));
  });

  it('stores q + 8, low nibble first, the padding nibble of an odd length 0', () => {
    expect(Array.from(encodeNibbles('t', Int8Array.of(-8, 7, 0, -1, 3)).packed)).toEqual([0xf0, 0x78, 0x0b]);
  });

  it('is chosen by size where every integer fits [-8, 7]: over dense always, under gaps when sparse enough', () => {
    const dense4 = smallInts(4096, -7, 7, 4);
    expect(fitsNibbles(dense4)).toBe(true);
    expect(chooseWeightStorage(dense4, [64, 64], 'compact', 'emb')).toMatchObject({ kind: 'nibbles', bytes: 2048, denseBytes: 4096 });
    const sparse4 = Int8Array.from(dense4, (x, i) => (i % 20 === 0 ? x || 1 : 0));
    expect(chooseWeightStorage(sparse4, [64, 64]).kind).toBe('gaps');
    const wide = Int8Array.from(dense4);
    wide[100] = 8;
    expect(fitsNibbles(wide)).toBe(false);
    expect(chooseWeightStorage(wide, [64, 64]).kind).toBe('dense');
    expect(fitsNibbles(Uint8Array.from([1, 2]))).toBe(false);
    expect(chooseWeightStorage(dense4, [64, 64], 'dense').kind).toBe('dense');
  });
});

describe('bad compact data is rejected with the tensor named', () => {
  const v = sparseInts(64, 0.8, 5);
  const m = encodeMask(v);
  const g = encodeGaps(v);

  it('by the decoders', () => {
    expect(() => decodeMask('enc/q', [8, 9], m.mask, m.values)).toThrow("compact weight 'enc/q': mask has 8 bytes, shape [8, 9] (72 elements) needs 9");
    expect(() => decodeMask('enc/q', [8, 8], m.mask, m.values.slice(1))).toThrow(
      `compact weight 'enc/q': mask marks ${m.values.length} non-zeros but ${m.values.length - 1} values are stored`,
    );
    const padded = encodeMask(new Int8Array(6));
    padded.mask[0] = 0x80;
    expect(() => decodeMask('enc/k', [6], padded.mask, Int8Array.of(1))).toThrow(/'enc\/k': mask marks 0 non-zeros but 1 values/);
    expect(() => decodeMask('enc/k', [6], padded.mask, new Int8Array(0))).toThrow("compact weight 'enc/k': mask sets bit 7, past the tensor's 6 elements");
    const long = Uint8Array.from(g.gaps);
    long[long.length - 1] += 60;
    expect(() => decodeGaps('enc/v', [8, 8], long, g.values)).toThrow(
      /^compact weight 'enc\/v': gaps run past the tensor: entry \d+ lands at position \d+, shape \[8, 8\] has 64 elements$/,
    );
    expect(() => decodeGaps('enc/v', [8, 8], g.gaps, g.values.slice(1))).toThrow(
      `compact weight 'enc/v': ${g.gaps.length} gaps but ${g.values.length - 1} values are stored`,
    );
    expect(() => decodeGaps('enc/v', [8, 8], Uint8Array.of(3, 0), Int8Array.of(1, 2))).toThrow("compact weight 'enc/v': gap 1 is 0");
  });

  it('by the nibble encoder and decoder', () => {
    expect(() => encodeNibbles('embeddings/word_embeddings', Int8Array.of(3, -7, 8))).toThrow(
      "compact weight 'embeddings/word_embeddings': value 8 at flat index 2 is outside [-8, 7], so it cannot be nibble-packed (4 bits)",
    );
    expect(() => encodeNibbles('emb', Int8Array.of(-9))).toThrow("compact weight 'emb': value -9 at flat index 0 is outside [-8, 7]");
    expect(() => encodeNibbles('emb', Uint8Array.of(1))).toThrow("compact weight 'emb': only int8 values can be nibble-packed, got uint8");
    const e = encodeNibbles('emb', smallInts(15, -7, 7, 6));
    expect(() => decodeNibbles('emb', [3, 6], e.packed)).toThrow("compact weight 'emb': packed nibbles have 8 bytes, shape [3, 6] (18 elements) needs 9");
    const padded = Uint8Array.from(e.packed);
    padded[7] |= 0x50;
    expect(() => decodeNibbles('emb', [15], padded)).toThrow(
      "compact weight 'emb': the last byte's high nibble is 5, past the tensor's 15 elements (padding must be 0)",
    );
    expect(() => checkCompactRoundTrip('emb', [15], e, decodeNibbles('emb', [15], e.packed))).not.toThrow();
    expect(() => checkCompactRoundTrip('emb', [3, 6], e, new Int8Array(18))).toThrow(/^compact weight 'emb': packed nibbles have 8 bytes/);
    const wrong = decodeNibbles('emb', [15], e.packed);
    wrong[4] = wrong[4] === 1 ? 2 : 1;
    expect(() => checkCompactRoundTrip('emb', [15], e, wrong)).toThrow(
      `compact weight 'emb': decodes to ${decodeNibbles('emb', [15], e.packed)[4]} at flat index 4, expected ${wrong[4]} (internal error in the nibbles encoder)`,
    );
  });

  it("by the exporter's self-check", () => {
    expect(() => checkCompactRoundTrip('enc/q', [64], m, v)).not.toThrow();
    expect(() => checkCompactRoundTrip('enc/q', [8, 9], m, v)).toThrow(CompactEncodingError);
    expect(() => checkCompactRoundTrip('enc/q', [8, 8], { ...m, values: m.values.slice(1) }, v)).toThrow(/^compact weight 'enc\/q': mask marks/);
    const wrong = Int8Array.from(v);
    const at = wrong.findIndex((x) => x !== 0);
    wrong[at] = wrong[at] === 1 ? 2 : 1;
    expect(() => checkCompactRoundTrip('enc/q', [64], m, wrong)).toThrow(
      `compact weight 'enc/q': decodes to ${v[at]} at flat index ${at}, expected ${wrong[at]}`,
    );
    const past = { ...g, gaps: Uint8Array.from(g.gaps, (x, k) => (k === g.gaps.length - 1 ? x + 100 : x)) };
    expect(() => checkCompactRoundTrip('enc/v', [64], past, v)).toThrow(/^compact weight 'enc\/v': gaps run past the tensor/);
  });

  it('by inspect, which reads the file and reports each broken weight as an error', () => {
    const { bytes, kernels } = smallInt8();
    const model = decodeOnnx(bytes);
    const init = (name: string) => model.graph!.initializer!.find((t) => t.name === name)!;
    const [maskKernel, gapsKernel] = [kernels.find((k) => init(`${k}/mask`) !== undefined)!, kernels.find((k) => init(`${k}/gaps`) !== undefined)!];
    expect(maskKernel && gapsKernel).toBeTruthy();
    const mask = init(`${maskKernel}/mask`);
    mask.rawData = mask.rawData!.slice(1);
    mask.dims = [mask.rawData.length];
    const gaps = init(`${gapsKernel}/gaps`);
    gaps.rawData = Uint8Array.from(gaps.rawData!, (x, k) => (k === 0 ? 255 : x));
    const broken = onnx.ModelProto.encode(model).finish();
    const ins = inspectOnnx(broken, { source: 'broken.onnx' });
    expect(ins.errors).toEqual([
      expect.stringMatching(new RegExp(`^compact weight '${maskKernel}': mask has \\d+ bytes, shape \\[\\d+, \\d+\\] \\(\\d+ elements\\) needs \\d+$`)),
      expect.stringMatching(new RegExp(`^compact weight '${gapsKernel}': gaps run past the tensor`)),
    ]);
    expect(ins.initializers.find((t) => t.name === maskKernel)).toMatchObject({ kind: 'compact', nonZeros: null });
    expect(formatInspection(ins)).toContain(`error: compact weight '${maskKernel}': mask has`);
    expect(inspectOnnx(bytes).errors).toEqual([]);
    // `prune-once inspect` exits 1 on such a file: inspectPath says so (ok), the CLI sets the exit code.
    const dir = tempDir();
    writeFileSync(join(dir, 'broken.onnx'), broken);
    writeFileSync(join(dir, 'whole.onnx'), bytes);
    expect(inspectPath(join(dir, 'broken.onnx'), false)).toMatchObject({ ok: false, text: expect.stringContaining('error: compact weight') });
    expect(inspectPath(join(dir, 'whole.onnx'), true).ok).toBe(true);
  });

  it('by inspect, for nibble-packed tables: a short packed table and a set padding nibble', () => {
    const { bytes } = smallInt8('int4');
    const ok = inspectOnnx(bytes);
    expect(ok.errors).toEqual([]);
    const word = ok.initializers.find((t) => t.name === EMB.word)!;
    expect(word).toMatchObject({ kind: 'compact', dtype: 'int8', shape: [CFG.vocabSize, CFG.hiddenSize], bytes: (CFG.vocabSize * CFG.hiddenSize) / 2 });
    expect(word.compact).toEqual({ encoding: 'nibbles', indexBytes: 0, values: `${EMB.word}/nibbles`, valueBytes: (CFG.vocabSize * CFG.hiddenSize) / 2 });
    expect(formatInspection(ok)).toMatch(new RegExp(`${EMB.word}\\s+int8\\s+\\[96x32\\]\\s+nibbles \\(1536 B\\)`));
    const model = decodeOnnx(bytes);
    const init = (name: string) => model.graph!.initializer!.find((t) => t.name === name)!;
    const word4 = init(`${EMB.word}/nibbles`);
    word4.rawData = word4.rawData!.slice(1);
    word4.dims = [word4.rawData.length];
    const broken = inspectOnnx(onnx.ModelProto.encode(model).finish());
    expect(broken.errors).toEqual([`compact weight '${EMB.word}': packed nibbles have 1535 bytes, shape [96, 32] (3072 elements) needs 1536`]);
    expect(broken.initializers.find((t) => t.name === EMB.word)).toMatchObject({ kind: 'compact', nonZeros: null });
    // A look-alike subgraph with other constants (here Sub 7, not 8) decodes to other values: not recognised.
    const other = decodeOnnx(bytes);
    const sub8 = other.graph!.initializer!.find((t) => t.name === 'const/int32_scalar_8')!;
    sub8.rawData = new Uint8Array(Int32Array.of(7).buffer);
    const lookAlike = inspectOnnx(onnx.ModelProto.encode(other).finish());
    expect(lookAlike.initializers.filter((t) => t.compact?.encoding === 'nibbles')).toEqual([]);
    expect(lookAlike.initializers.find((t) => t.name === `${EMB.word}/nibbles`)).toMatchObject({ kind: 'dense', dtype: 'uint8' });
  });

  it('counts nibble-packed tables as embeddings in the sizes by part (inspect and the report chart)', () => {
    const { bytes } = smallInt8('int4');
    const tableBytes = [EMB.word, EMB.position, EMB.tokenType].reduce((a, n) => a + inspectOnnx(bytes).initializers.find((t) => t.name === n)!.bytes, 0);
    const scaleBytes = 4 * (CFG.vocabSize + CFG.maxPositions + CFG.typeVocabSize);
    expect(inspectOnnx(bytes).parts.bytes.embeddings).toBe(tableBytes + scaleBytes);
    const path = join(tempDir(), 'int4.onnx');
    const model = decodeOnnx(bytes);
    model.metadataProps!.push({ key: 'model_config', value: JSON.stringify(CFG) });
    writeFileSync(path, onnx.ModelProto.encode(model).finish());
    const names = partBytesOfFile(path).embeddings.map((b) => onnx.TensorProto.decode(b).name);
    expect(names).toEqual(expect.arrayContaining([`${EMB.word}/nibbles`, `${EMB.word}/scale`, `${EMB.position}/nibbles`, `${EMB.tokenType}/nibbles`]));
  });
});

const CFG = defaultConfig({ vocabSize: 96, hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 128, maxPositions: 32, numLabels: 3 });

/** A small int8 model: layer 0 kernels 80% pruned (the mask wins), layer 1 97% random (gaps win), int8 (or int4: nibbles, or float32) embeddings. */
function smallInt8(tables: 'int8' | 'int4' | 'float32' = 'int8'): { bytes: Uint8Array; kernels: string[]; fp32: Uint8Array; q: ModelQuantization } {
  const weights = initWeights(CFG, 9, { mlmHead: false });
  const rng = new Rng(10);
  const kernels = [0, 1].flatMap((i) => encoderLinearKernels(i));
  for (const k of kernels) {
    const layer0 = k.includes('layer_0');
    weights.get(k)!.data.forEach((_, i, a) => {
      if (rng.next() < (layer0 ? 0.8 : 0.97)) a[i] = 0;
    });
  }
  const tableSpec = tables === 'int4' ? INT4_EMBEDDINGS : INT8_WEIGHTS;
  const q: ModelQuantization = {
    weightSpec: INT8_WEIGHTS,
    activationSpec: UINT8_ACTIVATIONS,
    ...(tables === 'int4' ? { embeddingSpec: INT4_EMBEDDINGS } : {}),
    bias: 'float32',
    weights: Object.fromEntries(kernels.map((k) => [k, weightParams(weights.get(k)!.data, weights.get(k)!.shape, INT8_WEIGHTS)])),
    inputs: Object.fromEntries(kernels.map((k) => [k, paramsFromRange([-4], [4], UINT8_ACTIVATIONS, -1)])),
    embeddings:
      tables !== 'float32'
        ? Object.fromEntries([EMB.word, EMB.position, EMB.tokenType].map((n) => [n, weightParams(weights.get(n)!.data, weights.get(n)!.shape, tableSpec, 0)]))
        : {},
  };
  const snapshot = { config: CFG, weights };
  return { bytes: exportOnnx({ snapshot, format: 'int8', quantization: q }).bytes, kernels, fp32: exportOnnx({ snapshot, format: 'fp32' }).bytes, q };
}

function randomBatch(rows: number, seq: number, seed: number): Batch {
  const rng = new Rng(seed);
  const n = rows * seq;
  const b: Batch = { inputIds: new Int32Array(n), attentionMask: new Float32Array(n), tokenTypeIds: new Int32Array(n), batchSize: rows, seqLen: seq };
  for (let r = 0; r < rows; r++) {
    const len = 2 + rng.int(seq - 1);
    for (let s = 0; s < seq; s++) {
      b.inputIds[r * seq + s] = rng.int(CFG.vocabSize);
      b.attentionMask[r * seq + s] = s < len ? 1 : 0;
      b.tokenTypeIds[r * seq + s] = s >= len / 2 && s < len ? 1 : 0;
    }
  }
  return b;
}

describe('portability of the default files', () => {
  it.each(['int8', 'int4'] as const)('onnxruntime-web (wasm, in Node) gives the same predictions as onnxruntime-node, %s tables', async (tables) => {
    const { bytes } = smallInt8(tables);
    expect(
      inspectOnnx(bytes)
        .initializers.filter((t) => t.kind === 'compact')
        .map((t) => t.compact!.encoding)
        .sort(),
    ).toEqual([...Array(6).fill('gaps'), ...Array(6).fill('mask'), ...Array(tables === 'int4' ? 3 : 0).fill('nibbles')]);
    const batch = randomBatch(200, 12, 11);
    const node = await createSession(bytes, { threads: 1 });
    const expected = await runLogits(node, batch);
    await node.release();
    const web = await createWebSession(bytes);
    const got = await web.run(batch);
    await web.release();
    const argmax = (x: Float32Array, r: number) => [0, 1, 2].reduce((best, c) => (x[r * 3 + c] > x[r * 3 + best] ? c : best), 0);
    let same = 0;
    let maxDiff = 0;
    for (let r = 0; r < batch.batchSize; r++) same += argmax(got, r) === argmax(expected, r) ? 1 : 0;
    for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - expected[i]));
    console.info(
      `${tables} tables: onnxruntime-web vs onnxruntime-node: ${same}/${batch.batchSize} same predictions, max |logit diff| ${maxDiff.toExponential(2)}`,
    );
    expect(same).toBe(batch.batchSize);
    expect(maxDiff).toBeLessThan(1e-3);
  });

  const PYTHON = '/usr/bin/python3';
  const hasOnnxChecker = spawnSync(PYTHON, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!hasOnnxChecker)('pass onnx.checker full check (python3-onnx), mask, gaps and nibbles subgraphs and int8 / int4 tables included', () => {
    const dir = tempDir();
    const { bytes, fp32 } = smallInt8();
    const files = {
      'int8.onnx': bytes,
      'int8-fp32-tables.onnx': smallInt8('float32').bytes,
      'int8-int4-tables.onnx': smallInt8('int4').bytes,
      'fp32.onnx': fp32,
    };
    const script =
      'import onnx,sys\nfor p in sys.argv[1:]:\n  try:\n    onnx.checker.check_model(onnx.load(p), full_check=True); print("OK")\n  except Exception as e: print("FAIL", p, e)';
    const paths = Object.entries(files).map(([name, b]) => {
      writeFileSync(join(dir, name), b);
      return join(dir, name);
    });
    expect(
      execFileSync(PYTHON, ['-c', script, ...paths], { encoding: 'utf8' })
        .trim()
        .split('\n'),
    ).toEqual(['OK', 'OK', 'OK', 'OK']);
  });
});
