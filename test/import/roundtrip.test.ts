/**
 * Import -> export (Hugging Face directory) -> import is bit-exact; the exported files are what a
 * transformers BertFor* model loads (names, [out, in] layout, config fields, metadata); and the
 * `import` / `export --format safetensors` commands work end to end.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/checkpoint/format.js';
import { ImportState } from '../../src/checkpoint/state.js';
import { importToCheckpoint } from '../../src/import/convert.js';
import { exportHfDirectory } from '../../src/export/hf.js';
import { exportSafetensors } from '../../src/export/hf-source.js';
import { importHfDirectory } from '../../src/import/import-hf.js';
import { openSafetensors } from '../../src/import/safetensors.js';
import { classifierLogits, disposeModel, encode, mlmLogits, modelFromSnapshot } from '../../src/model/bert.js';
import type { ModelSnapshot } from '../../src/model/snapshot.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { randomSnapshot, tinyConfig, TINY_VOCAB, writeHfDir } from './fixtures.js';

beforeAll(async () => {
  await useTestBackend();
});

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function expectBitIdentical(a: ModelSnapshot, b: ModelSnapshot): void {
  expect(a.config).toEqual(b.config);
  expect([...a.weights.keys()]).toEqual([...b.weights.keys()]);
  for (const [n, w] of a.weights) {
    expect(b.weights.get(n)!.shape, n).toEqual(w.shape);
    expect(bits(b.weights.get(n)!.data).equals(bits(w.data)), n).toBe(true);
  }
}

describe('round trip through a Hugging Face directory', () => {
  it('import -> export -> import gives bit-identical weights, config, labels and tokenizer', () => {
    const snap = randomSnapshot(tinyConfig({ hiddenAct: 'gelu_tanh', layerNormEps: 1e-6 }), 31);
    const src = writeHfDir(join(tempDir(), 'src'), snap, { classifier: true, labels: ['x', 'y', 'z'], hiddenAct: 'gelu_new', doLowerCase: false });
    const first = importHfDirectory(src);
    const out = join(tempDir(), 'out');
    const res = exportHfDirectory(first.snapshot, out, {
      tokenizer: { vocab: first.tokenizer.vocab, lowercase: first.tokenizer.lowercase },
      labels: first.labels,
    });
    expect(res.architectures).toEqual(['BertForSequenceClassification']);
    expect(res.warnings).toEqual([]);
    const second = importHfDirectory(out);
    expectBitIdentical(first.snapshot, second.snapshot);
    expect(second.labels).toEqual(['x', 'y', 'z']);
    expect(second.tokenizer.vocab).toEqual(TINY_VOCAB);
    expect(second.tokenizer.lowercase).toBe(false);
    expect(second.warnings).toEqual([]);

    // The exported float32 tensors are byte for byte the source's (same names, same [out, in] layout).
    const a = openSafetensors(join(src, 'model.safetensors'));
    const b = openSafetensors(join(out, 'model.safetensors'));
    expect([...b.entries.keys()].sort()).toEqual([...a.entries.keys()].sort());
    for (const name of a.entries.keys()) {
      expect(b.entries.get(name)!.shape, name).toEqual(a.entries.get(name)!.shape);
      expect(b.readBytes(name).equals(a.readBytes(name)), name).toBe(true);
    }
    expect(b.metadata).toEqual({ format: 'pt' });
    a.close();
    b.close();

    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({
      architectures: ['BertForSequenceClassification'],
      model_type: 'bert',
      vocab_size: TINY_VOCAB.length,
      hidden_size: 16,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 24,
      hidden_act: 'gelu_new',
      layer_norm_eps: 1e-6,
      max_position_embeddings: 40,
      type_vocab_size: 2,
      id2label: { 0: 'x', 1: 'y', 2: 'z' },
      label2id: { x: 0, y: 1, z: 2 },
    });
    expect(JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8'))).toMatchObject({ tokenizer_class: 'BertTokenizer', do_lower_case: false });
  });

  it('16-bit sources: import -> export (float32) -> import is bit-exact', () => {
    const snap = randomSnapshot(tinyConfig({ numLabels: 0 }), 32);
    for (const dtype of ['F16', 'BF16'] as const) {
      const first = importHfDirectory(writeHfDir(join(tempDir(), dtype), snap, { dtype }));
      const out = join(tempDir(), `${dtype}-out`);
      const res = exportHfDirectory(first.snapshot, out, { tokenizer: { vocab: first.tokenizer.vocab, lowercase: true } });
      expect(res.architectures).toEqual(['BertForMaskedLM']);
      expectBitIdentical(first.snapshot, importHfDirectory(out).snapshot);
    }
  });

  it('16-bit export: the file stores F16/BF16 and import gives back the rounded values, bit for bit', () => {
    const snap = randomSnapshot(tinyConfig({ numLabels: 0 }), 33);
    for (const dtype of ['F16', 'BF16'] as const) {
      const out = join(tempDir(), `${dtype}-half-out`);
      exportHfDirectory(snap, out, { tokenizer: { vocab: TINY_VOCAB, lowercase: true }, dtype });
      const file = openSafetensors(join(out, 'model.safetensors'));
      expect(new Set([...file.entries.values()].map((e) => e.dtype))).toEqual(new Set([dtype]));
      const back = importHfDirectory(out).snapshot;
      // Rounding to 16 bits is the only change: the re-export of what was read is bit-exact again.
      const again = join(tempDir(), `${dtype}-half-again`);
      exportHfDirectory(back, again, { tokenizer: { vocab: TINY_VOCAB, lowercase: true }, dtype });
      expectBitIdentical(back, importHfDirectory(again).snapshot);
      const w = snap.weights.get('encoder/layer_0/attention/query/kernel')!.data;
      const r = back.weights.get('encoder/layer_0/attention/query/kernel')!.data;
      const relErr = Math.max(...Array.from(w, (v, i) => Math.abs(r[i] - v) / Math.max(Math.abs(v), 1e-3)));
      expect(relErr).toBeGreaterThan(0);
      expect(relErr).toBeLessThan(dtype === 'F16' ? 1e-3 : 1e-2);
    }
  });

  it('a checkpoint from `import` exports to a complete directory (tokenizer and labels stored in it)', () => {
    const snap = randomSnapshot(tinyConfig(), 33);
    const src = writeHfDir(join(tempDir(), 'src'), snap, { classifier: true, labels: ['a', 'b', 'c'] });
    const ckpt = join(tempDir(), 'm.ckpt');
    const summary = importToCheckpoint(src, ckpt);
    expect(summary.heads).toEqual({ mlm: 'imported', classifier: 'imported' });
    expect(loadCheckpoint(ckpt, ImportState).state.labels).toEqual(['a', 'b', 'c']);
    const out = join(tempDir(), 'hf');
    const res = exportSafetensors(ckpt, out);
    expect(res.tokenizerSource).toMatch(/vocab\.txt$/);
    expect(res.files.map((f) => f.path.slice(out.length + 1)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt']);
    expectBitIdentical(importHfDirectory(src).snapshot, importHfDirectory(out).snapshot);
  });
});

describe('the commands', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/cli/main.js', ...args], { encoding: 'utf8' });

  it('import and export --format safetensors, with --help and errors', () => {
    const help = cli('import', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/import <dir>/);
    expect(help.stdout).toMatch(/Examples:/);
    expect(help.stdout).toMatch(/--out/);

    const snap = randomSnapshot(tinyConfig(), 34);
    const src = writeHfDir(join(tempDir(), 'src'), snap, { classifier: true, labels: ['p', 'q', 'r'] });
    const ckpt = join(tempDir(), 'imported.ckpt');
    const imp = cli('import', src, '--out', ckpt);
    expect(imp.stderr).toBe('');
    expect(imp.status).toBe(0);
    expect(imp.stdout).toMatch(/L=2 H=16 A=2 I=24/);
    expect(imp.stdout).toMatch(/classifier 3 labels \(p, q, r\)/);
    expect(existsSync(ckpt)).toBe(true);

    const out = join(tempDir(), 'hf');
    const exp = cli('export', ckpt, '--format', 'safetensors', '--out', out);
    expect(exp.status).toBe(0);
    expect(exp.stdout).toMatch(/safetensors: .*model\.safetensors/);
    expectBitIdentical(importHfDirectory(src).snapshot, importHfDirectory(out).snapshot);

    const bad = cli('import', join(tempDir(), 'missing'), '--out', ckpt);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/error: .*missing: no such directory/);
    const noOut = cli('import', src);
    expect(noOut.status).toBe(2);
    expect(noOut.stderr).toMatch(/out/);
  });
});

/**
 * BERT as transformers computes it, in NumPy, from the exported directory alone: the safetensors
 * header parsed by hand, `nn.Linear` as x @ W.T + b with W [out, in], post-LN blocks, exact-erf GELU,
 * tanh pooler, tied decoder. A second implementation that agrees with the tfjs model on the exported
 * files shows the names and layouts are what Python tools expect (not only what the importer reads).
 */
const NUMPY_BERT = String.raw`
import json, math, sys
import numpy as np
d, ids, types = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
cfg = json.load(open(d + '/config.json'))
buf = open(d + '/model.safetensors', 'rb').read()
n = int.from_bytes(buf[:8], 'little')
hdr = json.loads(buf[8:8 + n])
def t(name):
    e = hdr[name]; a, b = e['data_offsets']
    return np.frombuffer(buf[8 + n + a:8 + n + b], dtype='<f4').astype(np.float64).reshape(e['shape'])
erf = np.vectorize(math.erf)
gelu = lambda x: 0.5 * x * (1 + erf(x / math.sqrt(2)))
def ln(x, p):
    m = x.mean(-1, keepdims=True); v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + cfg['layer_norm_eps']) * t(p + '.weight') + t(p + '.bias')
lin = lambda x, p: x @ t(p + '.weight').T + t(p + '.bias')
ids = np.array(ids); types = np.array(types); S = ids.shape[1]
H = cfg['hidden_size']; A = cfg['num_attention_heads']; D = H // A
x = t('bert.embeddings.word_embeddings.weight')[ids] + t('bert.embeddings.position_embeddings.weight')[:S] + t('bert.embeddings.token_type_embeddings.weight')[types]
x = ln(x, 'bert.embeddings.LayerNorm')
for i in range(cfg['num_hidden_layers']):
    p = 'bert.encoder.layer.%d.' % i
    heads = lambda y: y.reshape(y.shape[0], S, A, D).transpose(0, 2, 1, 3)
    q, k, v = (heads(lin(x, p + 'attention.self.' + w)) for w in ('query', 'key', 'value'))
    s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(D)
    s = np.exp(s - s.max(-1, keepdims=True)); s = s / s.sum(-1, keepdims=True)
    c = (s @ v).transpose(0, 2, 1, 3).reshape(x.shape)
    x = ln(x + lin(c, p + 'attention.output.dense'), p + 'attention.output.LayerNorm')
    x = ln(x + lin(gelu(lin(x, p + 'intermediate.dense')), p + 'output.dense'), p + 'output.LayerNorm')
pooled = np.tanh(lin(x[:, 0], 'bert.pooler.dense'))
h = ln(gelu(lin(x, 'cls.predictions.transform.dense')), 'cls.predictions.transform.LayerNorm')
mlm = h @ t('bert.embeddings.word_embeddings.weight').T + t('cls.predictions.bias')
print(json.dumps({'seq': x.tolist(), 'cls': lin(pooled, 'classifier').tolist(), 'mlm': mlm.tolist()}))
`;

// Debian's python3 with python3-numpy (what .ci/run installs), else whatever python3 is on PATH.
const PYTHON = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0);
const hasNumpy = PYTHON !== undefined;

describe('the exported directory read by an independent implementation', () => {
  it.skipIf(!hasNumpy)('a NumPy BERT (transformers semantics) computes the same outputs as the tfjs model', () => {
    const snap = randomSnapshot(tinyConfig({ numLabels: 3 }), 35);
    const out = join(tempDir(), 'np');
    exportHfDirectory(snap, out, { tokenizer: { vocab: TINY_VOCAB, lowercase: true } });
    const ids = [
      [2, 10, 11, 12, 3],
      [2, 40, 41, 3, 50],
    ];
    const types = [
      [0, 0, 0, 0, 0],
      [0, 0, 0, 1, 1],
    ];
    const r = spawnSync(PYTHON!, ['-c', NUMPY_BERT, out, JSON.stringify(ids), JSON.stringify(types)], { encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(r.stderr).toBe('');
    const np = JSON.parse(r.stdout) as { seq: number[][][]; cls: number[][]; mlm: number[][][] };
    const model = modelFromSnapshot(snap);
    const ours = tf.tidy(() => {
      const inputs = {
        inputIds: tf.tensor2d(ids, [2, 5], 'int32'),
        tokenTypeIds: tf.tensor2d(types, [2, 5], 'int32'),
        attentionMask: tf.ones([2, 5]) as tf.Tensor2D,
      };
      const seq = encode(model, inputs, { training: false }).sequence;
      return {
        seq: seq.arraySync(),
        cls: classifierLogits(model, seq, { training: false }).arraySync(),
        mlm: mlmLogits(model, seq, tf.range(0, 10, 1, 'int32') as tf.Tensor1D).arraySync(),
      };
    });
    disposeModel(model);
    const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    expect(maxDiff(ours.seq.flat(2), np.seq.flat(2))).toBeLessThan(1e-4);
    expect(maxDiff(ours.cls.flat(), np.cls.flat())).toBeLessThan(1e-4);
    expect(maxDiff(ours.mlm.flat(), np.mlm.flat(2))).toBeLessThan(1e-4);
  });
});
