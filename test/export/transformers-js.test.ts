/**
 * The transformers.js model folder, in Node: @huggingface/transformers (its own onnxruntime-node)
 * loads the smoke run's folder offline and gives `predict`'s labels and scores (q8 and fp32), its
 * tokenizer gives prune-once's token ids on 1,000+ texts, the fill-mask folder's top token is
 * prune-once's MLM forward's, `predict` reproduces the report's int8 accuracy, a user's empty project
 * loads the folder, and bad input fails naming the file (and line).
 */
import * as tf from '@tensorflow/tfjs-core';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/checkpoint/format.js';
import { exportSafetensors } from '../../src/export/hf-source.js';
import { writeTokenizerJsonFiles } from '../../src/export/hf-tokenizer-json.js';
import { exportTransformersJs, TFJS_FILES } from '../../src/export/transformers-js.js';
import { importHfDirectory } from '../../src/import/import-hf.js';
import { disposeModel, encode, mlmLogits, modelFromSnapshot } from '../../src/model/bert.js';
import { decodeOnnx, readMetadata } from '../../src/onnx/index.js';
import { predict, predictionAccuracy, readPredictInputs, resolvePredictModel, type Prediction } from '../../src/predict/index.js';
import { bertUncasedVocab, loadVocabFile, WordPieceTokenizer } from '../../src/tokenizer/index.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { smokeRunCopy } from '../shared-runs.js';
import { HARD_TEXTS, smokeTestSplit, tokenizerSample } from './tfjs-fixtures.js';

let root = '';
let runDir = '';
let folder = '';
let fillMask = '';
let report: { accuracy: { int8Ort: number; examples: number } };
const CLI = resolve('dist/cli/main.js');
const RUNNER = resolve('test/export/tfjs-runner.mjs');

beforeAll(async () => {
  await useTestBackend();
  root = tempDir('prune-once-tfjs-');
  // A copy of the smoke run the smoke and browser tests share (test/shared-runs.ts).
  runDir = await smokeRunCopy();
  report = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8')) as typeof report;
  folder = exportTransformersJs(runDir, join(root, 'model')).dir;
  fillMask = exportTransformersJs(join(runDir, 'prune-distill', 'model.ckpt'), join(root, 'fill-mask')).dir;
}, 600_000);

/**
 * A transformers.js job in a child process (tfjs-runner.mjs): its onnxruntime-node 1.30 and
 * prune-once's 1.22 cannot be loaded in one process (both are libonnxruntime.so.1).
 */
async function transformersJs<T>(job: Record<string, unknown>): Promise<T> {
  const r = await node([RUNNER], { input: JSON.stringify(job) });
  if (r.status !== 0) throw new Error(`transformers.js job ${String(job.kind)} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Runs node with `args` without blocking this worker (a long spawnSync starves vitest's RPC). */
function node(args: string[], opts: { input?: string; cwd?: string } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, args, { cwd: opts.cwd, env: { ...process.env, NODE_PATH: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('close', (status) => ok({ status, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** The transformers.js pipeline's answers as predict's shape: top label, every label's score. */
const classifyWithTransformersJs = (dtype: 'q8' | 'fp32', texts: string[]) =>
  transformersJs<Array<{ label: string; scores: Record<string, number> }>>({ kind: 'classify', folder, dtype, texts });

function expectSameAnswers(ours: Prediction[], theirs: Array<{ label: string; scores: Record<string, number> }>): number {
  expect(theirs).toHaveLength(ours.length);
  let maxDiff = 0;
  ours.forEach((p, i) => {
    expect(theirs[i].label, `text ${i}: ${JSON.stringify(p.text.slice(0, 60))}`).toBe(p.label);
    for (const [label, score] of Object.entries(p.scores)) maxDiff = Math.max(maxDiff, Math.abs(theirs[i].scores[label] - score));
  });
  expect(maxDiff).toBeLessThan(1e-4);
  return maxDiff;
}

describe('export --format transformers.js', () => {
  it('writes the folder transformers.js expects, with the run labels, I/O names and the [SEP] prologue', () => {
    for (const f of Object.values(TFJS_FILES)) expect(existsSync(join(folder, f)), f).toBe(true);
    const config = JSON.parse(readFileSync(join(folder, TFJS_FILES.config), 'utf8')) as Record<string, unknown>;
    expect(config.architectures).toEqual(['BertForSequenceClassification']);
    expect(config.id2label).toEqual({ 0: 'ham', 1: 'spam' });
    expect(config.label2id).toEqual({ ham: 0, spam: 1 });
    expect((JSON.parse(readFileSync(join(folder, TFJS_FILES.tokenizerConfig), 'utf8')) as { model_max_length: number }).model_max_length).toBe(32);
    const q8 = decodeOnnx(readFileSync(join(folder, TFJS_FILES.q8)));
    expect(q8.graph!.input!.map((i) => i.name)).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    expect(q8.graph!.output!.map((o) => o.name)).toEqual(['logits']);
    expect(readMetadata(q8).input_prologue).toMatch(/\[SEP\]/);
    // The run's compact int8 file, unchanged but for the prologue: same initializers byte for byte.
    const run = decodeOnnx(readFileSync(join(runDir, 'model.int8.onnx')));
    const bytes = (m: typeof run) => new Map(m.graph!.initializer!.map((t) => [t.name!, Buffer.from(t.rawData ?? []).toString('base64')]));
    const ours = bytes(q8);
    for (const [name, b] of bytes(run)) expect(ours.get(name), name).toBe(b);
    const card = readFileSync(join(folder, TFJS_FILES.card), 'utf8');
    expect(card).toMatch(/^---\nlibrary_name: transformers.js\npipeline_tag: text-classification\n/);
    expect(card).toContain(`value: ${report.accuracy.int8Ort}`);
  });

  for (const dtype of ['q8', 'fp32'] as const) {
    it(`transformers.js (${dtype}) gives predict's labels and scores within 1e-4 on the test split and hard text`, async () => {
      const texts = [...smokeTestSplit().map((e) => e.text), ...HARD_TEXTS];
      // predict: prune-once's tokenizer and onnxruntime-node 1.22 on the run's own file (no prologue).
      const model = resolvePredictModel(folder);
      const ours = await predict({ ...model, onnxPath: join(runDir, dtype === 'q8' ? 'model.int8.onnx' : 'model.fp32.onnx') }, texts);
      const maxDiff = expectSameAnswers(ours, await classifyWithTransformersJs(dtype, texts));
      process.stdout.write(`transformers.js ${dtype} vs predict: ${texts.length} texts, max score difference ${maxDiff.toExponential(2)}\n`);
    });
  }

  it('tokenizer.json gives prune-once token ids on 1,000+ texts (run vocabulary and full bert-base-uncased)', async () => {
    const texts = tokenizerSample();
    expect(texts.length).toBeGreaterThanOrEqual(1000);
    const fullDir = join(root, 'bert-uncased-tokenizer');
    const full = bertUncasedVocab();
    writeTokenizerJsonFiles(fullDir, { vocab: full, lowercase: true, maxLength: 512 });
    const cases = [
      { dir: folder, ours: new WordPieceTokenizer(loadVocabFile(join(runDir, 'vocab.txt')), { lowercase: true, vocabSource: 'run' }) },
      { dir: fullDir, ours: new WordPieceTokenizer(full, { lowercase: true, vocabSource: 'bert' }) },
    ];
    for (const { dir, ours } of cases) {
      const theirs = await transformersJs<number[][]>({ kind: 'tokenize', folder: dir, texts });
      const { cls, sep } = ours.special;
      let pieces = 0;
      texts.forEach((t, i) => {
        const expected = [cls, ...ours.encode(t), sep];
        pieces += expected.length;
        expect(theirs[i], `${dir} text ${i}: ${JSON.stringify(t.slice(0, 80))}`).toEqual(expected);
      });
      expect(pieces).toBeGreaterThan(50 * texts.length);
    }
  });

  it('fill-mask: the top prediction is prune-once MLM forward top token', async () => {
    const config = JSON.parse(readFileSync(join(fillMask, TFJS_FILES.config), 'utf8')) as { architectures: string[] };
    expect(config.architectures).toEqual(['BertForMaskedLM']);
    expect(existsSync(join(fillMask, TFJS_FILES.q8))).toBe(false);
    const ckpt = loadCheckpoint(join(runDir, 'prune-distill', 'model.ckpt'));
    const tok = new WordPieceTokenizer(loadVocabFile(join(runDir, 'vocab.txt')), { lowercase: true, vocabSource: 'run' });
    const model = modelFromSnapshot({ config: ckpt.config, weights: ckpt.weights });
    const sentences = [
      ['the president said that the', 'of the union is strong'],
      ['we must', 'the budget this year'],
      ['our nation and our', 'are at peace'],
      ['congress', 'pass the law'],
    ];
    const answers = await transformersJs<Array<Array<{ token: number; score: number }>>>({
      kind: 'fill-mask',
      folder: fillMask,
      texts: sentences.map(([a, b]) => `${a} [MASK] ${b}`),
    });
    try {
      for (const [k, [a, b]] of sentences.entries()) {
        const ids = [tok.special.cls, ...tok.encode(a), tok.special.mask, ...tok.encode(b), tok.special.sep];
        const at = ids.indexOf(tok.special.mask);
        const top = tf.tidy(() => {
          const inputs = {
            inputIds: tf.tensor2d([ids], [1, ids.length], 'int32'),
            tokenTypeIds: tf.zeros([1, ids.length], 'int32') as tf.Tensor2D,
            attentionMask: tf.ones([1, ids.length]) as tf.Tensor2D,
          };
          const seq = encode(model, inputs, { training: false }).sequence;
          return mlmLogits(model, seq, tf.tensor1d([at], 'int32'))
            .argMax(-1)
            .dataSync()[0];
        });
        expect(answers[k][0].token, `${a} [MASK] ${b}`).toBe(top);
      }
    } finally {
      disposeModel(model);
    }
  });

  it('export --format safetensors of the pre-trained model is a BertForMaskedLM that imports back to the same weights', () => {
    const ckptPath = join(runDir, 'prune-distill', 'model.ckpt');
    const out = exportSafetensors(ckptPath, join(root, 'pretrained-hf'));
    expect(out.architectures).toEqual(['BertForMaskedLM']);
    expect(out.tokenizerSource).not.toBeNull();
    const back = importHfDirectory(out.dir);
    const ckpt = loadCheckpoint(ckptPath);
    for (const [name, w] of ckpt.weights) expect(Buffer.from(back.snapshot.weights.get(name)!.data.buffer).equals(Buffer.from(w.data.buffer)), name).toBe(true);
  });

  it("predict on the test split gives the report's int8 accuracy (library and CLI)", async () => {
    const split = smokeTestSplit();
    const labels = ['ham', 'spam'];
    const preds = await predict(
      folder,
      split.map((e) => ({ text: e.text, label: labels[e.label] })),
    );
    const acc = predictionAccuracy(preds)!;
    expect(acc.total).toBe(report.accuracy.examples);
    expect(acc.accuracy).toBe(report.accuracy.int8Ort);
    const file = join(root, 'test.jsonl');
    writeFileSync(file, split.map((e) => JSON.stringify({ text: e.text, label: labels[e.label] })).join('\n'));
    const r = await node([CLI, 'predict', runDir, '--input', file, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Prediction);
    expect(lines.map((l) => l.label)).toEqual(preds.map((p) => p.label));
    expect(r.stderr).toContain(`accuracy: ${acc.correct}/${acc.total} = ${(100 * report.accuracy.int8Ort).toFixed(2)}%`);
  });

  it('predict reads standard input, one text per line, and a .onnx file with the run beside it', async () => {
    const r = await node([CLI, 'predict', join(runDir, 'model.int8.onnx')], { input: 'win a free cruise\n\nmeeting at noon\n' });
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n');
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/^(ham|spam)\t[01]\.\d{4}\t(win a free cruise|meeting at noon)$/);
  });

  it('a user project: npm i @huggingface/transformers, env.allowRemoteModels = false, load the folder, print labels', async () => {
    const project = join(root, 'user-project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', type: 'module', private: true }));
    // What `npm i @huggingface/transformers` gives: the package resolvable from the project.
    symlinkSync(resolve('node_modules'), join(project, 'node_modules'), 'dir');
    cpSync(folder, join(project, 'models', 'my-classifier'), { recursive: true });
    writeFileSync(
      join(project, 'classify.mjs'),
      [
        "import { pipeline, env } from '@huggingface/transformers';",
        'env.allowRemoteModels = false;',
        "env.localModelPath = './models/';",
        "const classify = await pipeline('text-classification', 'my-classifier', { dtype: 'q8' });",
        "console.log(JSON.stringify(await classify(['Win a FREE cruise, click now!', 'Minutes of the budget meeting'])));",
      ].join('\n'),
    );
    const r = await node(['classify.mjs'], { cwd: project });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Array<{ label: string; score: number }>;
    expect(out).toHaveLength(2);
    for (const o of out) {
      expect(['ham', 'spam']).toContain(o.label);
      expect(o.score).toBeGreaterThan(0.5);
    }
  });
});

describe('bad input', () => {
  it('export of a run without an int8 model names the missing file and the fix', () => {
    const partial = join(root, 'partial-run');
    mkdirSync(partial);
    cpSync(join(runDir, 'pipeline.json'), join(partial, 'pipeline.json'));
    cpSync(join(runDir, 'qat'), join(partial, 'qat'), { recursive: true });
    expect(() => exportTransformersJs(partial)).toThrow(`${join(partial, 'model.int8.onnx')}: not found`);
    expect(() => exportTransformersJs(partial)).toThrow(/prune-once export .* --format int8/);
    expect(existsSync(join(partial, 'transformers.js'))).toBe(false);
    // A fine-tuned checkpoint is not a fill-mask model.
    expect(() => exportTransformersJs(join(runDir, 'qat', 'model.ckpt'))).toThrow(/a fine-tuned checkpoint.*export its run directory/);
  });

  it('predict on a folder missing files names each missing file', async () => {
    const broken = join(root, 'broken-model');
    cpSync(folder, broken, { recursive: true });
    rmSync(join(broken, TFJS_FILES.tokenizer));
    rmSync(join(broken, TFJS_FILES.q8));
    expect(() => resolvePredictModel(broken)).toThrow(`missing ${join(broken, TFJS_FILES.tokenizer)}, ${join(broken, TFJS_FILES.q8)}`);
    const r = await node([CLI, 'predict', broken, 'hello']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(join(broken, TFJS_FILES.tokenizer));
  });

  it('an input file with a bad line fails naming the file and line', async () => {
    const jsonl = join(root, 'bad.jsonl');
    writeFileSync(jsonl, '{"text": "fine"}\n\n{"text": "also fine", "label": "spam"}\n{"text": 42}\n');
    expect(() => readPredictInputs(jsonl)).toThrow(`${jsonl} line 4: expected "text" to be a string, got number 42`);
    writeFileSync(jsonl, '{"text": "fine"}\n{not json}\n');
    expect(() => readPredictInputs(jsonl)).toThrow(`${jsonl} line 2: expected a JSON object with a string "text" (or "sentence") field, got invalid JSON`);
    const tsv = join(root, 'bad.tsv');
    writeFileSync(tsv, 'sentence\tlabel\nhello\tham\ntoo\tmany\tcells\n');
    expect(() => readPredictInputs(tsv)).toThrow(`${tsv} line 3: expected 2 tab-separated columns as in the header, got 3`);
    writeFileSync(tsv, 'words\tlabel\nhello\tham\n');
    expect(() => readPredictInputs(tsv)).toThrow(`${tsv} line 1: missing column "sentence" (or "text")`);
    const r = await node([CLI, 'predict', folder, '--input', tsv]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${tsv} line 1`);
  });
});
