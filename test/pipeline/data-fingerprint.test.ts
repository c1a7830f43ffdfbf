/**
 * A stage's fingerprint covers the contents of the user files it reads (task TSV/JSONL files, a
 * corpus file, a vocab.txt), not only their paths: a file edited in place reruns the stages that
 * read it, and those after them, and misses the stage cache; an unchanged file keeps them up to
 * date. The embedded data (SOTU, spam-assassin) names no file, so its fingerprints are as they were
 * before file contents entered them: the main job's finished runs and cached stages stay valid.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../src/pipeline/load.js';
import { planRun, runPipeline, type RunSummary } from '../../src/pipeline/run.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { SMOKE, TASK_SETTINGS } from '../shared-runs.js';

const fingerprints = (file: string) => new Map(planRun(loadPipeline(file).pipeline).map((s) => [`${s.task ?? '-'}:${s.stage}`, s.fingerprint]));
const changed = (a: Map<string, string>, b: Map<string, string>) => [...a.keys()].filter((k) => a.get(k) !== b.get(k));

/** Sentences about the sea (0) or about money (1); `flip` swaps the labels. */
function rows(n: number, offset: number, flip = false): string {
  const sea = ['the ship sailed across the ocean', 'waves broke on the shore', 'the navy guarded the coast', 'sailors crossed the sea'];
  const money = ['the treasury paid the debt', 'taxes and revenue grew', 'the bank lent money', 'the budget had a deficit'];
  const lines = Array.from({ length: n }, (_, i) => `${(i % 2 === 0 ? sea : money)[(i + offset) % 4]} in year ${i + offset}\t${(i % 2) ^ (flip ? 1 : 0)}`);
  return ['sentence\tlabel', ...lines].join('\n') + '\n';
}

/** A user TSV task (train, dev, test) in `dir`. */
function writeTsvTask(dir: string): { train: string; dev: string; test: string } {
  const files = { train: join(dir, 'train.tsv'), dev: join(dir, 'dev.tsv'), test: join(dir, 'test.tsv') };
  writeFileSync(files.train, rows(40, 0));
  writeFileSync(files.dev, rows(16, 100));
  writeFileSync(files.test, rows(16, 200));
  return files;
}

const tsvTask = (f: { train: string; dev: string; test: string }) => `{ kind: tsv, train: ${f.train}, dev: ${f.dev}, test: ${f.test}, ${TASK_SETTINGS} }`;

describe('the embedded data', () => {
  // Pinned from main before file contents entered the fingerprints. They change, on purpose, with the
  // tool's version (package.json) or with the shipped teacher's files (models/bert-tiny-sotu); the
  // report stage's also with REPORT_VERSION (its formatVersion: the pins are version 2's).
  it("keeps the main job's and the smoke pipeline's fingerprints as they were", () => {
    expect(Object.fromEntries(fingerprints('pipelines/prune-once.yaml'))).toEqual(PRUNE_ONCE);
    expect(Object.fromEntries(fingerprints(SMOKE))).toEqual(SMOKE_FP);
  });
});

describe('a user data file edited in place', () => {
  it('changes the fingerprints of exactly the stages that read it, and an unchanged file none', () => {
    const dir = tempDir();
    const mine = writeTsvTask(dir);
    const file = join(dir, 'p.yaml');
    writeFileSync(file, `use: ${SMOKE}\nname: files\ntasks:\n  mine: ${tsvTask(mine)}\n  era: { kind: sotu-era, ${TASK_SETTINGS} }\n`);
    const before = fingerprints(file);
    writeFileSync(mine.train, rows(40, 0)); // rewritten, same bytes
    expect(fingerprints(file)).toEqual(before);
    const taskStages = ['finetune-teacher', 'transfer', 'qat', 'export', 'report'].map((s) => `mine:${s}`);
    for (const split of ['train', 'dev', 'test'] as const) {
      const text = readFileSync(mine[split], 'utf8');
      writeFileSync(mine[split], text.replace('\t0\n', '\t1\n')); // one label changed, same path
      expect(changed(before, fingerprints(file)), split).toEqual(taskStages);
      writeFileSync(mine[split], text);
    }
    expect(fingerprints(file)).toEqual(before);
  });

  it('reruns every stage when the vocabulary is built from it (a single task, corpus-subset)', () => {
    const dir = tempDir();
    const mine = writeTsvTask(dir);
    const file = join(dir, 'p.yaml');
    writeFileSync(file, `use: ${SMOKE}\nname: files\ntask: ${tsvTask(mine)}\n`);
    const before = fingerprints(file);
    writeFileSync(mine.train, rows(40, 1));
    expect(changed(before, fingerprints(file))).toEqual([...before.keys()]);
  });

  it('covers a corpus file and a vocab.txt as well', () => {
    const dir = tempDir();
    const corpus = join(dir, 'corpus.txt');
    const vocab = join(dir, 'vocab.txt');
    writeFileSync(corpus, 'the ship sailed across the ocean.\n\nthe treasury paid the debt.\n');
    writeFileSync(vocab, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'ship', 'sea'].join('\n') + '\n');
    const file = join(dir, 'p.yaml');
    writeFileSync(file, `use: ${SMOKE}\nname: files\ncorpus: { source: ${corpus}, seqLen: 32 }\ntokenizer: { vocab: ${vocab} }\n`);
    const before = fingerprints(file);
    writeFileSync(corpus, 'the ship sailed across the sea.\n\nthe treasury paid the debt.\n');
    const afterCorpus = fingerprints(file);
    // The teacher and prune-distill read the corpus; every later stage reads what they made.
    expect(changed(before, afterCorpus)).toEqual([...before.keys()]);
    writeFileSync(vocab, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'ship', 'ocean'].join('\n') + '\n');
    expect(changed(afterCorpus, fingerprints(file))).toEqual([...before.keys()]);
  });
});

describe('a run after its task file changed', () => {
  it('reruns the stages that read it and not the others, misses the stage cache, and skips everything when nothing changed', async () => {
    await useTestBackend();
    const dir = tempDir();
    const mine = writeTsvTask(dir);
    const cacheDir = join(dir, 'cache');
    const pipelinePath = join(dir, 'p.yaml');
    // The corpus teacher, shared, and one task's fine-tuning: the vocabulary is the corpus's alone.
    const stages =
      'stages:\n  teacher: { model: { preset: bert-tiny, maxPositions: 64 }, train: { steps: 4, batchSize: 8, learningRate: 0.001 } }\n  finetune-teacher: { train: { steps: 6, batchSize: 8, learningRate: 0.0005 } }\n';
    writeFileSync(pipelinePath, `use: ${SMOKE}\nname: files\n${stages}tasks:\n  mine: ${tsvTask(mine)}\n`);
    const run = (outDir: string, cache?: string) => runPipeline({ pipelinePath, outDir, quiet: true, backend: 'wasm', cacheDir: cache });
    const statuses = (s: RunSummary) => s.stages.map((x) => `${x.task ?? '-'}:${x.stage}:${x.status}`);
    const model = (out: string) => readFileSync(join(out, 'tasks', 'mine', 'finetune-teacher', 'model.ckpt'));

    const a = join(dir, 'a');
    expect(statuses(await run(a, cacheDir))).toEqual(['-:teacher:ran', 'mine:finetune-teacher:ran']);
    const first = model(a);
    expect(statuses(await run(a, cacheDir))).toEqual(['-:teacher:up to date', 'mine:finetune-teacher:up to date']);

    writeFileSync(mine.train, rows(40, 0, true)); // every training label flipped, same path
    // Another run directory on the same cache: the teacher is restored, the task stage is not.
    const b = join(dir, 'b');
    expect(statuses(await run(b, cacheDir))).toEqual(['-:teacher:from cache', 'mine:finetune-teacher:ran']);
    expect(model(b).equals(first)).toBe(false);
    // The first run directory: the teacher is up to date, the task stage reruns on the new file.
    expect(statuses(await run(a))).toEqual(['-:teacher:up to date', 'mine:finetune-teacher:ran']);
    expect(model(a).equals(model(b))).toBe(true);
  }, 600_000);
});

/** pipelines/prune-once.yaml (the main job) on main at 899784d (report stages: a9efd42). */
const PRUNE_ONCE: Record<string, string> = {
  '-:teacher': '198d5bbb2bf3e8c1',
  '-:prune-distill': '75e44b81ad08a616',
  'spam:finetune-teacher': '33b14cf18acadb3b',
  'spam:transfer': 'd77b1de5356d0b7d',
  'spam:qat': 'a02f35257873006a',
  'spam:export': 'f20aeb14d3074242',
  'spam:report': 'efc6632ea8730a3e',
  'sotu-era:finetune-teacher': 'df90597f433454e8',
  'sotu-era:transfer': '970c4ce19f2d4932',
  'sotu-era:qat': 'd8a3a2b0b60ef890',
  'sotu-era:export': '6ca3a052eedd61e1',
  'sotu-era:report': '3f52c817dda39da0',
  'sotu-next:finetune-teacher': '22ed958f004ecbe6',
  'sotu-next:transfer': '6d597fdfa4be4ebc',
  'sotu-next:qat': 'b3101b5bd5b4d544',
  'sotu-next:export': '50c4b886fcfcdc56',
  'sotu-next:report': 'd778e39aa2ef38f5',
};
/** pipelines/smoke.yaml on main at 899784d (report stage: a9efd42). */
const SMOKE_FP: Record<string, string> = {
  '-:teacher': '25e6ec8c3aa5d35c',
  '-:prune-distill': '82cc3789db8d4052',
  '-:finetune-teacher': '936f0e7bc2adbe81',
  '-:transfer': '1b1a827a9b876df1',
  '-:qat': '613b35059b08708c',
  '-:export': 'f5aa8ed870f5f498',
  '-:report': '5f84084d1c544b73',
};
