/**
 * Settings that used to crash late or mislead (issue 27): each is refused when the pipeline loads,
 * or by the checks a run makes before its first stage, with the file, the field path, the value
 * found and the limit.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../../src/checkpoint/format.js';
import { defaultConfig } from '../../src/model/config.js';
import { ConfigError, loadPipeline } from '../../src/pipeline/load.js';
import { preflight } from '../../src/pipeline/preflight.js';
import { tempDir } from '../helpers.js';
import { runLogged, SMOKE, TINY_SETS } from '../reliability/fixtures.js';

const loadError = (sets: string[], file = SMOKE): string => {
  try {
    loadPipeline(file, sets);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`loadPipeline accepted ${sets.join(' ')}`);
};

const preflightError = (sets: string[], backend: 'wasm' | 'cpu' = 'wasm', file = SMOKE): string => {
  const { pipeline } = loadPipeline(file, sets);
  try {
    preflight(pipeline, file, backend);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`preflight accepted ${sets.join(' ')}`);
};

function write(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('a present field with a bad value', () => {
  it('is never reported missing: finalSparsity 1.5 (flat form) names the field as written, the value and [0, 1)', () => {
    const msg = loadError(['stages.prune-distill.pruning.finalSparsity=1.5']);
    expect(msg).toContain(SMOKE);
    expect(msg).not.toMatch(/missing/);
    expect(msg).toMatch(/stages\.prune-distill\.pruning\.finalSparsity: .*\[0, 1\).*; found 1\.5/);
  });

  it('says the value found and the range for every numeric setting (a sample across the schema)', () => {
    const cases: Array<[string, RegExp]> = [
      ['stages.teacher.train.learningRate=0', /stages\.teacher\.train\.learningRate: must be a number in \(0, 1\]; found 0/],
      ['stages.teacher.train.steps=2.5', /stages\.teacher\.train\.steps: must be an integer from 1 to .*; found 2\.5/],
      ['stages.teacher.train.threads=0', /stages\.teacher\.train\.threads: .*; found 0/],
      ['stages.prune-distill.distill.temperature=0', /stages\.prune-distill\.distill\.temperature: must be a number in \(0, 100\]; found 0/],
      ['stages.prune-distill.pruning.frequency=0', /stages\.prune-distill\.pruning\.frequency: must be an integer from 1 to .*; found 0/],
      ['stages.teacher.model.hiddenDropout=1', /stages\.teacher\.model\.hiddenDropout: .*\[0, 1\).*; found 1/],
      ['stages.qat.quantization.calibrationBatches=0', /stages\.qat\.quantization\.calibrationBatches: must be an integer from 1 to .*; found 0/],
      ['stages.report.latencyRuns=100000000', /stages\.report\.latencyRuns: must be an integer from 1 to 10000.*; found 100000000/],
      ['stages.report.latencyBatches=[1, 100000000]', /stages\.report\.latencyBatches\.1: must be an integer from 1 to 4096.*; found 100000000/],
      ['corpus.seqLen=2', /corpus\.seqLen: must be an integer from 3 to 8192.*; found 2/],
      ['task.seqLen=3', /task\.seqLen: must be an integer from 4 to 8192.*; found 3/],
      ['tokenizer.size=100000000', /tokenizer\.size: must be an integer from .* to 262144.*; found 100000000/],
      ['seed=-1', /seed: must be an integer from 0 to 4294967295.*; found -1/],
    ];
    for (const [set, re] of cases) {
      const msg = loadError([set]);
      expect(msg, set).toMatch(re);
      expect(msg, set).not.toMatch(/missing/);
    }
  });
});

describe('tasks: settings', () => {
  it('--set tasks.x.kind=tsv names tasks.x.train and tasks.x.dev, not task.', () => {
    const msg = loadError(['tasks.x.kind=tsv']);
    expect(msg).toMatch(/tasks\.x\.train: kind tsv needs the training file.*; found nothing \(the field is missing\)/);
    expect(msg).toMatch(/tasks\.x\.dev: kind tsv needs the dev file/);
    expect(msg).not.toMatch(/(^|[^s])task\.(train|dev|kind)/m);
  });

  it('a single-task pipeline names task.train', () => {
    expect(loadError(['task.kind=jsonl'])).toMatch(/task\.train: kind jsonl needs the training file/);
  });

  it('a task whose training file holds one class is refused before any stage, naming tasks.<name>, the file and the class', async () => {
    const dir = tempDir('prune-once-limits-');
    const train = write(dir, 'train.tsv', 'sentence\tlabel\nfree money\tspam\nwin now\tspam\ncheap pills\tspam\n');
    const dev = write(dir, 'dev.tsv', 'sentence\tlabel\nhello\tham\nbuy\tspam\n');
    const sets = [...TINY_SETS, 'tasks.mine.seqLen=32', 'tasks.mine.kind=tsv', `tasks.mine.train=${train}`, `tasks.mine.dev=${dev}`];
    expect(() => preflight(loadPipeline(SMOKE, sets).pipeline, SMOKE, 'wasm')).toThrow(
      new RegExp(`tasks\\.mine\\.train: ${train}: holds one class \\("spam"\\).*at least 2`),
    );
    // Through a run: refused before the first stage, so no stage directory is made.
    const out = join(tempDir('prune-once-limits-'), 'run');
    const r = await runLogged({ pipelinePath: SMOKE, outDir: out, sets });
    expect(r.error?.message).toMatch(/tasks\.mine\.train: .*holds one class \("spam"\)/);
    expect(existsSync(join(out, 'teacher'))).toBe(false);
  }, 120_000);
});

describe('sequence lengths and the model positions', () => {
  it('task.seqLen above the teacher model maxPositions is refused at load naming both fields', () => {
    const msg = loadError(['task.seqLen=100000']);
    expect(msg).toMatch(/task\.seqLen: must be an integer from 4 to 8192/);
    const msg2 = loadError(['task.seqLen=100']);
    expect(msg2).toMatch(
      /task\.seqLen: 100 tokens is above stages\.teacher\.model\.maxPositions \(64\).*lower task\.seqLen or raise stages\.teacher\.model\.maxPositions/,
    );
  });

  it('names tasks.<name>.seqLen and corpus.seqLen too, and a default value as the default', () => {
    expect(loadError(['tasks.a.seqLen=100'])).toMatch(/tasks\.a\.seqLen: 100 tokens is above stages\.teacher\.model\.maxPositions \(64\)/);
    expect(loadError(['tasks.a.kind=sotu-era'])).toMatch(/tasks\.a\.seqLen: 128 tokens is above .*; found nothing: the field is not set, its default is 128/);
    expect(loadError(['corpus.seqLen=65'])).toMatch(/corpus\.seqLen: 65 tokens is above stages\.teacher\.model\.maxPositions \(64\)/);
  });

  it("an imported teacher's max_position_embeddings is checked before any stage, naming config.json", () => {
    const file = 'pipelines/prune-once.yaml';
    const msg = preflightError(['tasks.spam.seqLen=1000'], 'wasm', file);
    expect(msg).toMatch(/tasks\.spam\.seqLen: 1000 tokens is above max_position_embeddings of models\/bert-tiny-sotu\/config\.json \(512\)/);
  });

  it("a teacher checkpoint's maxPositions is read from its header and checked the same way", () => {
    const ckpt = join(tempDir('prune-once-limits-'), 'teacher.ckpt');
    const config = defaultConfig({ vocabSize: 64, hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 32, maxPositions: 24 });
    saveCheckpoint(ckpt, { config, weights: new Map(), tensors: new Map(), state: {} });
    const msg = preflightError([`stages.teacher.from=${ckpt}`, 'task.seqLen=32', 'corpus.seqLen=16']);
    expect(msg).toMatch(new RegExp(`task\\.seqLen: 32 tokens is above maxPositions of ${ckpt} \\(24\\)`));
    expect(msg).not.toMatch(/corpus\.seqLen/);
  });
});

describe('batch sizes against the memory a step can reach', () => {
  it('train.batchSize 100000000 is refused by its range at load', () => {
    expect(loadError(['stages.teacher.train.batchSize=100000000'])).toMatch(
      /stages\.teacher\.train\.batchSize: must be an integer from 1 to 65536.*microBatch.*; found 100000000/,
    );
  });

  it('a batch whose activations cannot fit the wasm heap is refused before any stage, naming the field, the limit and microBatch', () => {
    const sets = ['stages.teacher.model.preset=bert-base', 'stages.teacher.model.maxPositions=512', 'corpus.seqLen=512', 'stages.teacher.train.batchSize=4096'];
    const msg = preflightError(sets, 'wasm');
    expect(msg).toContain(SMOKE);
    expect(msg).toMatch(/stages\.teacher\.train\.batchSize: 4096 rows .*above the wasm heap limit of 4096 MB per thread/);
    expect(msg).toMatch(/set stages\.teacher\.train\.microBatch to at most \d+/);
    // With micro-batches that fit, the same batch passes.
    const { pipeline } = loadPipeline(SMOKE, [...sets, 'stages.teacher.train.microBatch=2', 'stages.teacher.train.recompute=layers']);
    expect(() => preflight(pipeline, SMOKE, 'wasm')).not.toThrow();
    // A micro-batch too large is named itself.
    expect(preflightError([...sets, 'stages.teacher.train.microBatch=4096'], 'wasm')).toMatch(/stages\.teacher\.train\.microBatch: 4096 rows .*at most \d+/);
  });

  it('the shipped pipelines pass the checks', () => {
    for (const f of ['pipelines/smoke.yaml', 'pipelines/prune-once.yaml', 'pipelines/teacher.yaml']) {
      const { pipeline } = loadPipeline(f);
      expect(() => preflight(pipeline, f, 'wasm'), f).not.toThrow();
    }
  });
});

describe('the corpus', () => {
  it('a one-paragraph corpus names the file, corpus.heldOutFraction and the minimum', async () => {
    const dir = tempDir('prune-once-limits-');
    const corpus = write(dir, 'one.txt', 'Just one paragraph of text, with no blank line anywhere in it.\n');
    const out = join(dir, 'run');
    const r = await runLogged({ pipelinePath: SMOKE, outDir: out, sets: [...TINY_SETS, `corpus.source=${corpus}`], until: 'teacher' });
    expect(r.error?.message).toMatch(new RegExp(`corpus\\.source: ${corpus}: .*1 paragraph.*corpus\\.heldOutFraction.*at least 2`));
  }, 120_000);
});
