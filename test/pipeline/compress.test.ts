/**
 * `compress`: a fine-tuned Hugging Face classifier and TSV files -> a sparse int8 ONNX model pruned
 * during fine-tuning. End to end on tiny settings: (a) a BertForSequenceClassification made here,
 * through the library; (b) that run's fine-tuned teacher exported with `export --format
 * safetensors`, through the CLI. Bad inputs fail before anything is written.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendInfo } from '../../src/backend/select.js';
import { loadCheckpoint } from '../../src/checkpoint/format.js';
import { FinetuneTeacherState } from '../../src/checkpoint/state.js';
import { encodeExamples, tsvTask } from '../../src/data/index.js';
import { exportSafetensors } from '../../src/export/hf-source.js';
import { importHfDirectory } from '../../src/import/import-hf.js';
import { createSession, runLogits } from '../../src/onnx/runtime.js';
import { compress, compressPipeline, type CompressOptions, type CompressResult } from '../../src/pipeline/compress.js';
import { planRun, runPipeline } from '../../src/pipeline/run.js';
import { readReport } from '../../src/report/read.js';
import type { Report } from '../../src/report/schema.js';
import { WordPieceTokenizer } from '../../src/tokenizer/index.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { randomSnapshot, TINY_VOCAB, tinyConfig, writeHfDir } from '../import/fixtures.js';
import { CLI } from '../reliability/fixtures.js';

const exec = promisify(execFile);

/** Tiny settings: a few steps of each training stage, one thread, a short latency pass. */
const TINY = [
  'stages.transfer.train.steps=6',
  'stages.transfer.train.batchSize=8',
  'stages.transfer.train.warmupSteps=0',
  'stages.transfer.train.evalEvery=0',
  'stages.transfer.train.checkpointEvery=0',
  'stages.transfer.train.threads=1',
  'stages.transfer.pruning.frequency=1',
  'stages.qat.train.steps=3',
  'stages.qat.train.batchSize=8',
  'stages.qat.train.checkpointEvery=0',
  'stages.qat.train.threads=1',
  'stages.qat.quantization.calibrationBatches=1',
  'stages.report.latencyBatches=[1]',
  'stages.report.latencyRuns=2',
  'task.evalBatchSize=16',
];

const SPAM = ['free money !', 'free free money', 'money money !', 'free money and money', 'the free money !'];
const HAM = ['the meeting .', 'meeting and the meeting', 'the meeting , and', 'a meeting .', 'the the meeting'];

/** A TSV of `n` rows alternating the two classes (label names as given). */
function tsv(path: string, n: number, labels: [string, string] = ['ham', 'spam'], offset = 0): string {
  const rows = ['sentence\tlabel'];
  for (let i = 0; i < n; i++) {
    const spam = i % 2 === 1;
    const pool = spam ? SPAM : HAM;
    rows.push(`${pool[(i + offset) % pool.length]}\t${spam ? labels[1] : labels[0]}`);
  }
  writeFileSync(path, `${rows.join('\n')}\n`);
  return path;
}

let backend: BackendInfo;
let data = '';
let classifier = '';
let base: Omit<CompressOptions, 'model'>;
let a: CompressResult;

beforeAll(async () => {
  backend = await useTestBackend();
  data = tempDir();
  classifier = writeHfDir(join(data, 'my-classifier'), randomSnapshot(tinyConfig({ numLabels: 2 }), 5), {
    classifier: true,
    mlmHead: false,
    labels: ['ham', 'spam'],
  });
  base = {
    train: tsv(join(data, 'train.tsv'), 32),
    dev: tsv(join(data, 'dev.tsv'), 16, undefined, 1),
    test: tsv(join(data, 'test.tsv'), 16, undefined, 2),
    sets: TINY,
    backend: backend.name,
    quiet: true,
  };
  a = await compress({ ...base, model: classifier, sparsity: 0.9, outDir: join(tempDir(), 'run') });
}, 900_000);

/** Test accuracy of an ONNX file in ONNX Runtime, computed here from the TSV and the classifier's vocabulary. */
async function ortAccuracy(file: string): Promise<number> {
  const tok = new WordPieceTokenizer(TINY_VOCAB, { lowercase: true, vocabSource: 'test' });
  const task = tsvTask({ train: base.train, dev: base.dev, test: base.test });
  const enc = encodeExamples(tok, task.test, 40);
  const session = await createSession(file);
  let right = 0;
  for (const e of enc.examples) {
    const n = e.inputIds.length;
    const logits = await runLogits(session, {
      inputIds: e.inputIds,
      tokenTypeIds: e.tokenTypeIds,
      attentionMask: new Float32Array(n).fill(1),
      batchSize: 1,
      seqLen: n,
    });
    if ((logits[1] > logits[0] ? 1 : 0) === e.label) right++;
  }
  await session.release();
  return right / enc.examples.length;
}

function checkReport(r: Report, target: number): void {
  // Per-tensor magnitude pruning rounds each tensor's count of zeros: within half a weight per tensor.
  expect(r.totals.encoderLinear.sparsity).toBeCloseTo(target, 2);
  expect(r.path).toEqual({ pruning: 'downstream', description: 'pruned downstream during fine-tuning', teacher: 'taken as is' });
  expect(r.accuracy.int8Ort).not.toBeNull();
  expect(r.accuracy.teacherOrt).not.toBeNull();
}

describe('compress a fine-tuned Hugging Face classifier', () => {
  it('writes model.int8.onnx and a report at the target sparsity, accuracies measured in ONNX Runtime', async () => {
    const int8 = join(a.runDir, 'model.int8.onnx');
    expect(existsSync(int8)).toBe(true);
    checkReport(a.report, 0.9);
    expect(a.report.accuracy.int8Ort).toBeCloseTo(await ortAccuracy(int8), 10);
    expect(a.report.accuracy.teacherOrt).toBeCloseTo(await ortAccuracy(join(a.runDir, 'model.teacher.fp32.onnx')), 10);
    expect(readFileSync(join(a.runDir, 'report.md'), 'utf8')).toContain('The model: pruned downstream during fine-tuning; the dense teacher taken as is');
  });

  it('takes the classifier as is: no teacher training, its weights unchanged, no corpus read', () => {
    const imported = importHfDirectory(classifier).snapshot;
    const teacher = loadCheckpoint(join(a.runDir, 'finetune-teacher', 'model.ckpt'), FinetuneTeacherState);
    expect(teacher.state.takenAsIs).toBe(true);
    for (const [n, w] of teacher.weights) {
      if (n.startsWith('mlm/')) continue; // a fresh MLM head (the classifier has none); unused
      expect(Buffer.from(w.data.buffer).equals(Buffer.from(imported.weights.get(n)!.data.buffer)), n).toBe(true);
    }
    const ft = a.summary.stages.find((s) => s.stage === 'finetune-teacher')!.result;
    expect(ft.details.teacher).toBe('taken as is');
    expect(ft.details.curve).toBeUndefined();
    const teacherStage = a.summary.stages.find((s) => s.stage === 'teacher')!.result;
    expect(teacherStage.metrics.mlm_accuracy).toBeUndefined();
    expect(a.summary.stages.map((s) => s.stage)).toEqual(['teacher', 'finetune-teacher', 'transfer', 'qat', 'export', 'report']);
  });

  it("pipeline.json reproduces the run: `run` on it finds every stage's fingerprint up to date", async () => {
    const again = await runPipeline({ pipelinePath: join(a.runDir, 'pipeline.json'), outDir: a.runDir, quiet: true, backend: backend.name });
    expect(again.stages.map((s) => s.status)).toEqual(Array(6).fill('up to date'));
    expect(again.pipeline).toEqual(a.pipeline);
  });

  it('plans a rerun when a task file is edited in place (its contents are in the fingerprints), and none when it is not', () => {
    const dir = tempDir();
    const train = join(dir, 'train.tsv');
    writeFileSync(train, readFileSync(base.train));
    const plan = () => planRun(compressPipeline({ ...base, train, model: classifier })).map((s) => s.fingerprint);
    const before = plan();
    writeFileSync(train, readFileSync(base.train));
    expect(plan()).toEqual(before);
    tsv(train, 32, undefined, 1); // other sentences, same path
    const after = plan();
    // The vocabulary setting (corpus-subset) puts the task in every stage's fingerprint.
    expect(after.map((fp, i) => fp !== before[i])).toEqual(Array(6).fill(true));
  });

  it("compresses a run's fine-tuned teacher exported with `export --format safetensors` (CLI, --sparsity 0.5)", async () => {
    const exported = join(tempDir(), 'exported');
    exportSafetensors(join(a.runDir, 'finetune-teacher', 'model.ckpt'), exported);
    const out = join(tempDir(), 'run-b');
    const sets = TINY.flatMap((s) => ['--set', s]);
    const args = [CLI, 'compress', exported, '--train', base.train, '--dev', base.dev, '--test', base.test!, '--sparsity', '0.5'];
    const { stdout } = await exec('node', [...args, '--out', out, '--backend', backend.name, '--quiet', ...sets], { timeout: 850_000 });
    expect(stdout).toContain(join(out, 'model.int8.onnx'));
    expect(stdout).toMatch(/\| your classifier \(dense fp32\) \| \d+\.\d\d% \|/);
    const r = readReport(join(out, 'report.json'));
    checkReport(r, 0.5);
    // The same classifier, the same test split: the same dense accuracy in ONNX Runtime.
    expect(r.accuracy.teacherOrt).toBe(a.report.accuracy.teacherOrt);
    expect(r.accuracy.int8Ort).toBeCloseTo(await ortAccuracy(join(out, 'model.int8.onnx')), 10);
  }, 900_000);
});

describe('compress refuses bad input before writing anything', () => {
  const attempt = (o: Partial<CompressOptions>) => {
    const out = join(tempDir(), 'never');
    return { out, run: () => compress({ ...base, model: classifier, outDir: out, ...o }) };
  };

  it('a directory that is not a sequence classifier (a BertForMaskedLM)', async () => {
    const mlm = writeHfDir(join(data, 'mlm'), randomSnapshot(tinyConfig({ numLabels: 0 }), 6));
    const { out, run } = attempt({ model: mlm });
    await expect(run()).rejects.toThrow(/mlm[/\\]config\.json: architectures \["BertForMaskedLM"\] .*not a sequence classifier/);
    expect(existsSync(out)).toBe(false);
  });

  it("labels that differ from the TSV's, naming both lists", async () => {
    const train = tsv(join(data, 'train-neg-pos.tsv'), 8, ['neg', 'pos']);
    const dev = tsv(join(data, 'dev-neg-pos.tsv'), 4, ['neg', 'pos']);
    const { out, run } = attempt({ train, dev, test: undefined });
    await expect(run()).rejects.toThrow(/my-classifier[/\\]config\.json: the classifier's labels \["ham", "spam"\] differ from the task's \["neg", "pos"\]/);
    expect(existsSync(out)).toBe(false);
  });

  it('a training file with one class', async () => {
    const train = join(data, 'one-class.tsv');
    writeFileSync(train, 'sentence\tlabel\nfree money\tspam\nmoney !\tspam\n');
    const { out, run } = attempt({ train });
    await expect(run()).rejects.toThrow(/one-class\.tsv: holds one class \("spam"\) in its 2 examples; a classifier needs at least 2/);
    expect(existsSync(out)).toBe(false);
  });

  it.each([1, 1.5, -0.1, NaN])('sparsity %s (outside [0, 1))', async (sparsity) => {
    const { out, run } = attempt({ sparsity });
    await expect(run()).rejects.toThrow(/--sparsity .*: must be in \[0, 1\)/);
    expect(existsSync(out)).toBe(false);
  });

  it('the CLI exits 2 on --sparsity 1, naming the flag', async () => {
    const err = await exec('node', [CLI, 'compress', classifier, '--train', base.train, '--dev', base.dev, '--sparsity', '1']).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toContain('--sparsity 1: must be in [0, 1)');
  }, 300_000);

  it('a label in dev that the training file lacks (the task loader names the file and line)', () => {
    const dev = join(data, 'dev-extra.tsv');
    writeFileSync(dev, 'sentence\tlabel\nfree money\tspam\nthe meeting\tham\nhello\tother\n');
    expect(() => compressPipeline({ ...base, model: classifier, dev })).toThrow(/dev-extra\.tsv line 4: label "other" does not occur in the training file/);
  });

  it("--out on a folder the tool did not make (it holds a file of the user's): refused, the file untouched, nothing added", async () => {
    const mine = join(tempDir(), 'mine');
    mkdirSync(mine);
    writeFileSync(join(mine, 'notes.txt'), 'my notes\n');
    await expect(compress({ ...base, model: classifier, outDir: mine })).rejects.toThrow(/mine: not made by prune-once .*not empty.*give --out a new folder/);
    expect(readdirSync(mine)).toEqual(['notes.txt']);
    expect(readFileSync(join(mine, 'notes.txt'), 'utf8')).toBe('my notes\n');
  });
});
