/**
 * Importing Hugging Face BERT directories made by ./fixtures.ts: every tensor in its place (values
 * and transposes), the same outputs as the original model, the config fields and tokenizer
 * settings honoured, 16-bit tensors converted exactly, and a clear error for each kind of bad
 * directory.
 */
import * as tf from '@tensorflow/tfjs-core';
import { copyFileSync, existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { importToCheckpoint } from '../../src/import/convert.js';
import { importHfDirectory } from '../../src/import/import-hf.js';
import { encodeSafetensors, writeSafetensors } from '../../src/import/safetensors.js';
import { classifierLogits, disposeModel, encode, mlmLogits, modelFromSnapshot } from '../../src/model/bert.js';
import type { ModelSnapshot } from '../../src/model/snapshot.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { hfConfigJson, hfNames, hfTensorList, randomSnapshot, tinyConfig, TINY_VOCAB, writeHfDir, type HfDirOptions } from './fixtures.js';

beforeAll(async () => {
  await useTestBackend();
});

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function expectSameWeights(got: ModelSnapshot, want: ModelSnapshot, names = [...want.weights.keys()]): void {
  for (const n of names) {
    const g = got.weights.get(n);
    expect(g, n).toBeDefined();
    expect(g!.shape, n).toEqual(want.weights.get(n)!.shape);
    expect(bits(g!.data), n).toEqual(bits(want.weights.get(n)!.data));
  }
}

/** Encoder, classifier and MLM outputs of two snapshots on the same inputs; returns the max |diff|. */
function maxOutputDiff(a: ModelSnapshot, b: ModelSnapshot): { seq: number; cls: number; mlm: number } {
  const ma = modelFromSnapshot(a);
  const mb = modelFromSnapshot(b);
  const r = tf.tidy(() => {
    const inputs = {
      inputIds: tf.tensor2d(
        [
          [2, 10, 11, 12, 3, 0],
          [2, 40, 41, 3, 50, 3],
        ],
        [2, 6],
        'int32',
      ),
      tokenTypeIds: tf.tensor2d(
        [
          [0, 0, 0, 0, 0, 0],
          [0, 0, 0, 0, 1, 1],
        ],
        [2, 6],
        'int32',
      ),
      attentionMask: tf.tensor2d([
        [1, 1, 1, 1, 1, 0],
        [1, 1, 1, 1, 1, 1],
      ]),
    };
    const sa = encode(ma, inputs, { training: false }).sequence;
    const sb = encode(mb, inputs, { training: false }).sequence;
    const d = (x: tf.Tensor, y: tf.Tensor) => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0];
    const pos = tf.tensor1d([1, 2, 8], 'int32');
    return {
      seq: d(sa, sb),
      cls: a.config.numLabels ? d(classifierLogits(ma, sa, { training: false }), classifierLogits(mb, sb, { training: false })) : 0,
      mlm: d(mlmLogits(ma, sa, pos), mlmLogits(mb, sb, pos)),
    };
  });
  disposeModel(ma);
  disposeModel(mb);
  return r;
}

/** The snapshot plus a pooler (which the project only has with a classifier, HF's BertModel always). */
function withPooler(snap: ModelSnapshot): ModelSnapshot {
  const pooler = [...randomSnapshot(tinyConfig({ numLabels: 2 }), 99).weights].filter(([n]) => n.startsWith('pooler/'));
  return { config: snap.config, weights: new Map([...snap.weights, ...pooler]) };
}

describe('importing a Hugging Face BERT directory', () => {
  it('puts every tensor where it belongs, transposing Linear weights, and gives the same outputs', () => {
    const snap = randomSnapshot(tinyConfig({ hiddenAct: 'gelu' }), 3);
    const dir = writeHfDir(join(tempDir(), 'clf'), snap, { classifier: true, labels: ['neg', 'neu', 'pos'] });
    const imp = importHfDirectory(dir);
    expect(imp.snapshot.config).toEqual(snap.config);
    expect([...imp.snapshot.weights.keys()]).toEqual([...snap.weights.keys()]);
    expectSameWeights(imp.snapshot, snap);
    expect(imp.labels).toEqual(['neg', 'neu', 'pos']);
    expect(imp.heads).toEqual({ mlm: 'imported', classifier: 'imported' });
    expect(imp.warnings).toEqual([]);
    // A non-square Linear weight, element by element: HF [out=I, in=H] -> ours [in=H, out=I].
    const f = hfTensorList(snap, { classifier: true }).find(([n]) => n === 'bert.encoder.layer.1.intermediate.dense.weight')![1];
    expect(f.shape).toEqual([24, 16]);
    const k = imp.snapshot.weights.get('encoder/layer_1/intermediate/kernel')!;
    expect(k.shape).toEqual([16, 24]);
    for (const [i, o] of [
      [0, 0],
      [3, 17],
      [15, 23],
      [7, 2],
    ])
      expect(k.data[i * 24 + o]).toBe(f.data[o * 16 + i]);
    const d = maxOutputDiff(imp.snapshot, snap);
    expect(d.seq).toBeLessThan(1e-6);
    expect(d.cls).toBeLessThan(1e-6);
    expect(d.mlm).toBeLessThan(1e-6);
  });

  it('honours the config fields: activation, eps, positions, token types, dropout', () => {
    const cfg = tinyConfig({
      numLabels: 0,
      hiddenAct: 'gelu_tanh',
      layerNormEps: 1e-7,
      maxPositions: 24,
      typeVocabSize: 3,
      hiddenDropout: 0.2,
      attentionDropout: 0.05,
      numLayers: 1,
      numHeads: 4,
    });
    const snap = randomSnapshot(cfg, 5);
    for (const act of ['gelu_new', 'gelu_pytorch_tanh']) {
      const dir = writeHfDir(join(tempDir(), act), snap, { hiddenAct: act });
      const imp = importHfDirectory(dir);
      expect(imp.snapshot.config).toEqual(cfg);
      expect(imp.labels).toEqual([]);
      expectSameWeights(imp.snapshot, snap);
    }
    const relu = importHfDirectory(writeHfDir(join(tempDir(), 'relu'), randomSnapshot({ ...cfg, hiddenAct: 'relu' }), { hiddenAct: 'relu' }));
    expect(relu.snapshot.config.hiddenAct).toBe('relu');
  });

  it('accepts BertModel checkpoints (no prefix, no heads): fresh MLM head, pooler dropped, both said', () => {
    const snap = randomSnapshot(tinyConfig({ numLabels: 0 }), 7);
    const dir = writeHfDir(join(tempDir(), 'base'), withPooler(snap), { prefix: '', mlmHead: false, pooler: true });
    const imp = importHfDirectory(dir, { seed: 11 });
    expect(imp.snapshot.config.numLabels).toBe(0);
    expect(imp.heads).toEqual({ mlm: 'initialised', classifier: 'none' });
    expect(imp.snapshot.weights.has('pooler/kernel')).toBe(false);
    expect(imp.snapshot.weights.get('mlm/output_bias')!.shape).toEqual([TINY_VOCAB.length]);
    const encoderNames = [...snap.weights.keys()].filter((n) => !n.startsWith('mlm/'));
    expectSameWeights(imp.snapshot, snap, encoderNames);
    expect(imp.warnings.join('\n')).toMatch(/no MLM head.*freshly initialised/);
    expect(imp.warnings.join('\n')).toMatch(/dropped the pooler.*'pooler\.dense\.weight'/);
  });

  it('accepts BertForPreTraining checkpoints: gamma/beta names, tied decoder, NSP head, position_ids', () => {
    const snap = randomSnapshot(tinyConfig({ numLabels: 0 }), 9);
    const dir = writeHfDir(join(tempDir(), 'pt'), withPooler(snap), { legacyNames: true, preTrainingExtras: true, pooler: true });
    const imp = importHfDirectory(dir);
    expectSameWeights(imp.snapshot, snap);
    expect(imp.heads.mlm).toBe('imported');
    expect(imp.warnings.join('\n')).toMatch(/next-sentence-prediction head and the pooler/);
  });

  it('converts float16 and bfloat16 checkpoints exactly', () => {
    const snap = randomSnapshot(tinyConfig(), 12);
    for (const dtype of ['F16', 'BF16'] as const) {
      const dir = writeHfDir(join(tempDir(), dtype), snap, { classifier: true, dtype });
      const imp = importHfDirectory(dir);
      expect(imp.dtypes).toEqual({ [dtype]: snap.weights.size });
      // Expected values decoded here from the file's raw bytes by the formats' definitions.
      const buf = readFileSync(join(dir, 'model.safetensors'));
      const n = Number(buf.readBigUInt64LE(0));
      const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape: number[]; data_offsets: [number, number] }>;
      for (const [hf, ours, transposed] of hfNames(snap.config, { classifier: true })) {
        const {
          shape,
          data_offsets: [b],
        } = header[hf];
        const count = shape.reduce((x, y) => x * y, 1);
        const ref = new Float32Array(count);
        for (let i = 0; i < count; i++) {
          const h = buf.readUInt16LE(8 + n + b + 2 * i);
          if (dtype === 'BF16') ref[i] = new Float32Array(new Uint32Array([h << 16]).buffer)[0];
          else {
            const e = (h >> 10) & 31;
            const m = h & 1023;
            ref[i] = (h >> 15 ? -1 : 1) * (e === 0 ? m * 2 ** -24 : 2 ** (e - 15) * (1 + m / 1024));
          }
        }
        const got = imp.snapshot.weights.get(ours)!.data;
        const [rows, cols] = shape;
        for (let i = 0; i < count; i++) {
          const want = transposed ? ref[(i % rows) * cols + Math.floor(i / rows)] : ref[i];
          if (got[i] !== want) throw new Error(`${dtype} ${hf}[${i}]: got ${got[i]}, want ${want}`);
        }
        // And close to the float32 original (the rounding of a 16-bit format, nothing more).
        const orig = snap.weights.get(ours)!.data;
        const tol = dtype === 'F16' ? 2 ** -10 : 2 ** -7;
        for (let i = 0; i < count; i++) expect(Math.abs(got[i] - orig[i])).toBeLessThanOrEqual(Math.abs(orig[i]) * tol + 2 ** -24);
      }
    }
  });

  it('reads sharded checkpoints (model.safetensors.index.json)', () => {
    const snap = randomSnapshot(tinyConfig(), 13);
    const dir = writeHfDir(join(tempDir(), 'sharded'), snap, { classifier: true });
    rmSync(join(dir, 'model.safetensors'));
    const list = hfTensorList(snap, { classifier: true });
    const parts = [list.slice(0, 20), list.slice(20)];
    const weightMap: Record<string, string> = {};
    parts.forEach((part, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(join(dir, file), part);
      for (const [name] of part) weightMap[name] = file;
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
    expectSameWeights(importHfDirectory(dir).snapshot, snap);
  });

  it('reads do_lower_case from tokenizer_config.json, default true', () => {
    const snap = randomSnapshot(tinyConfig({ numLabels: 0 }), 14);
    const cased = importHfDirectory(writeHfDir(join(tempDir(), 'cased'), snap, { doLowerCase: false }));
    expect(cased.tokenizer.lowercase).toBe(false);
    expect(cased.tokenizer.vocab).toEqual(TINY_VOCAB);
    const noConfig = importHfDirectory(writeHfDir(join(tempDir(), 'nocfg'), snap, { doLowerCase: null }));
    expect(noConfig.tokenizer.lowercase).toBe(true);
    expect(noConfig.tokenizer.encode('The money')).toEqual([TINY_VOCAB.indexOf('the'), TINY_VOCAB.indexOf('money')]);
  });
});

describe('bad directories give errors that name the file and the field or tensor', () => {
  const snap = randomSnapshot(tinyConfig(), 20);
  const good = (o: HfDirOptions = { classifier: true }) => writeHfDir(join(tempDir(), 'm'), snap, o);
  const rewriteConfig = (dir: string, patch: Record<string, unknown>) =>
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), ...patch }));
  /** Rewrites model.safetensors from the fixture's tensor list after `edit`. */
  const rewriteWeights = (dir: string, edit: (list: ReturnType<typeof hfTensorList>) => ReturnType<typeof hfTensorList>) =>
    writeSafetensors(join(dir, 'model.safetensors'), edit(hfTensorList(snap, { classifier: true })));

  it('missing files', () => {
    expect(() => importHfDirectory(join(tempDir(), 'nope'))).toThrow(/nope: no such directory/);
    let dir = good();
    rmSync(join(dir, 'config.json'));
    expect(() => importHfDirectory(dir)).toThrow(/config\.json: not found/);
    dir = good();
    rmSync(join(dir, 'vocab.txt'));
    expect(() => importHfDirectory(dir)).toThrow(/vocab\.txt: not found/);
    dir = good();
    rmSync(join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'pytorch_model.bin'), 'pickle');
    expect(() => importHfDirectory(dir)).toThrow(/model\.safetensors: not found.*pytorch_model\.bin.*safe_serialization=True/);
    const file = join(tempDir(), 'file.txt');
    writeFileSync(file, 'x');
    expect(() => importHfDirectory(file)).toThrow(/file\.txt: not a directory/);
  });

  it('other architectures and unsupported settings', () => {
    const dir = good();
    rewriteConfig(dir, { model_type: 'roberta', architectures: ['RobertaForMaskedLM'] });
    expect(() => importHfDirectory(dir)).toThrow(/config\.json: model_type: "roberta" is not supported.*BERT.*RoBERTa offsets position ids/);
    rewriteConfig(dir, { model_type: 'distilbert' });
    expect(() => importHfDirectory(dir)).toThrow(/model_type: "distilbert" is not supported.*DistilBERT/);
    rewriteConfig(dir, { model_type: 'bert', architectures: ['BertForQuestionAnswering'] });
    expect(() => importHfDirectory(dir)).toThrow(/architectures: BertForQuestionAnswering is not supported/);
    rewriteConfig(dir, { architectures: ['BertForSequenceClassification'], hidden_act: 'silu' });
    expect(() => importHfDirectory(dir)).toThrow(/config\.json: hidden_act: "silu" is not supported; allowed: gelu, /);
    rewriteConfig(dir, { hidden_act: 'gelu', position_embedding_type: 'relative_key' });
    expect(() => importHfDirectory(dir)).toThrow(/position_embedding_type: "relative_key" is not supported/);
    rewriteConfig(dir, { position_embedding_type: 'absolute', num_attention_heads: 3 });
    expect(() => importHfDirectory(dir)).toThrow(/num_attention_heads: hidden_size 16 is not divisible by num_attention_heads 3/);
    rewriteConfig(dir, { num_attention_heads: 2, hidden_size: 'big' });
    expect(() => importHfDirectory(dir)).toThrow(/hidden_size: must be a positive integer, found "big"/);
  });

  it('absurd sizes are refused from config.json before any tensor is made, naming the field and the limit', () => {
    const dir = good();
    rewriteConfig(dir, { num_hidden_layers: 1000000000 });
    expect(() => importHfDirectory(dir)).toThrow(/config\.json: num_hidden_layers: 1000000000 is above 24 \(the largest BERT, BERT-Large\)/);
    for (const [field, value, limit] of [
      ['hidden_size', 100000, 1024],
      ['num_attention_heads', 64, 16],
      ['intermediate_size', 1000000, 4096],
      ['vocab_size', 10000000, 262144],
      ['max_position_embeddings', 1000000, 8192],
      ['type_vocab_size', 100000, 16],
    ] as const) {
      const d = good();
      rewriteConfig(d, { [field]: value });
      expect(() => importHfDirectory(d), field).toThrow(new RegExp(`config\\.json: ${field}: ${value} is above ${limit}`));
    }
  });

  it('a config.json without hidden_size (or another size) is refused, naming the field, not defaulted to 768', () => {
    for (const field of ['hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'vocab_size', 'max_position_embeddings']) {
      const dir = good();
      const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      delete json[field];
      writeFileSync(join(dir, 'config.json'), JSON.stringify(json));
      expect(() => importHfDirectory(dir), field).toThrow(new RegExp(`${dir}/config\\.json: ${field}: missing; .*add "${field}"`));
    }
  });

  it('a tensor with the wrong shape: expected vs found', () => {
    const dir = good();
    rewriteConfig(dir, { intermediate_size: 32 });
    expect(() => importHfDirectory(dir)).toThrow(
      /model\.safetensors: cannot import \(shapes expected from .*config\.json: .*intermediate_size 32.*\n.*tensor 'bert\.encoder\.layer\.0\.intermediate\.dense\.weight' has shape \[24, 16\], expected \[32, 16\]/,
    );
  });

  it('unknown, missing and duplicate tensor names', () => {
    let dir = good();
    rewriteWeights(dir, (l) => [...l, ['bert.encoder.layer.0.attention.self.rotary.weight', { dtype: 'F32', shape: [2], data: new Float32Array(2) }]]);
    expect(() => importHfDirectory(dir)).toThrow(/1 unknown tensor\(s\): 'bert\.encoder\.layer\.0\.attention\.self\.rotary\.weight'/);
    dir = good();
    rewriteWeights(dir, (l) => l.filter(([n]) => n !== 'bert.encoder.layer.1.attention.self.key.bias'));
    expect(() => importHfDirectory(dir)).toThrow(/missing tensor 'bert\.encoder\.layer\.1\.attention\.self\.key\.bias', shape \[16\]/);
    dir = good();
    rewriteWeights(dir, (l) => [...l, ['bert.embeddings.LayerNorm.gamma', l.find(([n]) => n === 'bert.embeddings.LayerNorm.weight')![1]]]);
    expect(() => importHfDirectory(dir)).toThrow(/'bert\.embeddings\.LayerNorm\.weight' and 'bert\.embeddings\.LayerNorm\.gamma' are the same weight/);
    dir = good();
    rewriteWeights(dir, (l) => l.map(([n, t]) => [n.replace(/^bert\./, 'roberta.'), t]));
    expect(() => importHfDirectory(dir)).toThrow(/look like a roberta checkpoint/);
  });

  it('an untied MLM decoder, a non-float tensor, a classifier that disagrees with id2label', () => {
    let dir = good();
    rewriteWeights(dir, (l) => [
      ...l,
      ['cls.predictions.decoder.weight', { dtype: 'F32', shape: [TINY_VOCAB.length, 16], data: new Float32Array(TINY_VOCAB.length * 16).fill(0.25) }],
    ]);
    expect(() => importHfDirectory(dir)).toThrow(/tensor 'cls\.predictions\.decoder\.weight' differs from the word embeddings/);
    dir = good();
    rewriteConfig(dir, { id2label: { 0: 'a', 1: 'b' } });
    expect(() => importHfDirectory(dir)).toThrow(/tensor 'classifier\.weight' has 3 rows \(classes\) but .*config\.json declares 2 \(id2label\)/);
    // A float64 tensor, header by hand: the importer takes F32, F16 and BF16 only.
    dir = good();
    const list = hfTensorList(snap, { classifier: true }).filter(([n]) => n !== 'classifier.bias');
    const base = encodeSafetensors(list);
    const n = Number(base.readBigUInt64LE(0));
    const header = JSON.parse(base.subarray(8, 8 + n).toString('utf8'));
    const dataLen = base.length - 8 - n;
    header['classifier.bias'] = { dtype: 'F64', shape: [3], data_offsets: [dataLen, dataLen + 24] };
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([len, json, base.subarray(8 + n), Buffer.alloc(24)]));
    expect(() => importHfDirectory(dir)).toThrow(/tensor 'classifier\.bias' is F64; only F32, F16, BF16 can be imported/);
  });

  it('a truncated safetensors file, and nothing written when the import fails', () => {
    const dir = good();
    const path = join(dir, 'model.safetensors');
    truncateSync(path, readFileSync(path).length - 100);
    expect(() => importHfDirectory(dir)).toThrow(/model\.safetensors: tensor '.*': .*truncated/);
    const out = join(tempDir(), 'never.ckpt');
    expect(() => importToCheckpoint(dir, out)).toThrow(/truncated/);
    expect(existsSync(out)).toBe(false);
  });

  it('a vocabulary without BERT special tokens', () => {
    const dir = good();
    writeFileSync(join(dir, 'vocab.txt'), 'a\nb\nc\n');
    expect(() => importHfDirectory(dir)).toThrow(/vocab\.txt lacks the special token\(s\) \[PAD\]/);
    copyFileSync(join(good(), 'vocab.txt'), join(dir, 'vocab.txt'));
    writeFileSync(join(dir, 'tokenizer_config.json'), '{"do_lower_case": "yes"}');
    expect(() => importHfDirectory(dir)).toThrow(/tokenizer_config\.json: do_lower_case must be true or false/);
  });

  it('config.json written by the fixture is what a transformers BertConfig holds', () => {
    // Guards the fixture itself: the fields the importer reads are all there, with HF's names.
    const json = hfConfigJson(tinyConfig(), { classifier: true });
    for (const k of [
      'vocab_size',
      'hidden_size',
      'num_hidden_layers',
      'num_attention_heads',
      'intermediate_size',
      'hidden_act',
      'max_position_embeddings',
      'type_vocab_size',
      'layer_norm_eps',
      'id2label',
    ]) {
      expect(json, k).toHaveProperty(k);
    }
  });
});
