/**
 * Per-task step budgets (`tasks.<name>.steps`) and the task seed (`taskSeed`): a budget replaces
 * the stage's `train.steps` for its task only; a task seed moves only the task stages (the shared
 * sparse pre-trained model and the data splits keep `seed`). And no training choice looks at the
 * test split: two runs whose test labels differ train the very same models.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/checkpoint/format.js';
import { loadPipeline } from '../../src/pipeline/load.js';
import { planRun, runPipeline, withTaskSteps } from '../../src/pipeline/run.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { SMOKE, TASK_SETTINGS, writeTasksPipeline } from '../shared-runs.js';

/** A checkpoint's weights, tensors and state but its fingerprint. */
function modelContent(path: string) {
  const { config, weights, tensors, state } = loadCheckpoint(path);
  const { fingerprint: _fingerprint, ...rest } = state as Record<string, unknown>;
  return { config, weights, tensors, state: rest };
}

const fingerprints = (file: string, sets: string[] = []) =>
  new Map(planRun(loadPipeline(file, sets).pipeline).map((s) => [`${s.task ?? '-'}:${s.stage}`, s.fingerprint]));

describe('per-task step budgets', () => {
  it('replace train.steps of the named stages only', () => {
    const { pipeline } = loadPipeline(SMOKE);
    const stages = withTaskSteps(pipeline.stages, { ...pipeline.task, steps: { transfer: 30 } });
    expect(stages.transfer!.train.steps).toBe(30);
    expect(stages['finetune-teacher']!.train!.steps).toBe(pipeline.stages['finetune-teacher']!.train!.steps);
    expect(stages.qat!.train.steps).toBe(pipeline.stages.qat!.train.steps);
    expect(pipeline.stages.transfer!.train.steps).toBe(10); // the pipeline itself is not changed
  });

  it("change only the budgeted task's budgeted stages (and what reads them)", () => {
    const dir = tempDir();
    const plain = writeTasksPipeline(dir, `  spam: { kind: spam-assassin, ${TASK_SETTINGS} }\n  era: { kind: sotu-era, ${TASK_SETTINGS} }\n`, 'a.yaml');
    const budget = writeTasksPipeline(
      dir,
      `  spam: { kind: spam-assassin, ${TASK_SETTINGS} }\n  era: { kind: sotu-era, ${TASK_SETTINGS}, steps: { transfer: 20 } }\n`,
      'b.yaml',
    );
    const a = fingerprints(plain);
    const b = fingerprints(budget);
    const changed = [...a.keys()].filter((k) => a.get(k) !== b.get(k));
    expect(changed).toEqual(['era:transfer', 'era:qat', 'era:export', 'era:report']);
  });

  it('refuse a budget out of range, naming the field', () => {
    const dir = tempDir();
    const file = writeTasksPipeline(dir, `  era: { kind: sotu-era, ${TASK_SETTINGS}, steps: { transfer: 0 } }\n`);
    expect(() => loadPipeline(file)).toThrow(/tasks\.era\.steps\.transfer/);
  });
});

describe('taskSeed', () => {
  it('moves the task stages only, and equal to seed changes nothing', () => {
    const base = fingerprints(SMOKE);
    const other = fingerprints(SMOKE, ['taskSeed=8']);
    const same = fingerprints(SMOKE, ['taskSeed=7']); // smoke's seed is 7
    expect(same).toEqual(base);
    const changed = [...base.keys()].filter((k) => base.get(k) !== other.get(k));
    expect(changed).toEqual(['-:finetune-teacher', '-:transfer', '-:qat', '-:export', '-:report']);
  });
});

describe('the test split', () => {
  it('plays no part in training: runs whose test labels differ train the same models and make the same dev evaluations', async () => {
    await useTestBackend();
    const dir = tempDir();
    const sea = ['the ship sailed across the ocean', 'waves broke on the shore', 'the navy guarded the coast', 'sailors crossed the sea'];
    const money = ['the treasury paid the debt', 'taxes and revenue grew', 'the bank lent money', 'the budget had a deficit'];
    const rows = (n: number, offset: number, flip = false) =>
      [
        'sentence\tlabel',
        ...Array.from({ length: n }, (_, i) => `${(i % 2 === 0 ? sea : money)[(i + offset) % 4]} in year ${i + offset}\t${(i % 2) ^ (flip ? 1 : 0)}`),
      ].join('\n') + '\n';
    writeFileSync(join(dir, 'train.tsv'), rows(40, 0));
    writeFileSync(join(dir, 'dev.tsv'), rows(16, 100));
    const pipelinePath = join(dir, 'p.yaml');
    writeFileSync(
      pipelinePath,
      `use: ${SMOKE}\ntask: { kind: tsv, train: ${join(dir, 'train.tsv')}, dev: ${join(dir, 'dev.tsv')}, test: ${join(dir, 'test.tsv')}, seqLen: 32, evalBatchSize: 32 }\n`,
    );
    const runs: string[] = [];
    for (const flip of [false, true]) {
      writeFileSync(join(dir, 'test.tsv'), rows(16, 200, flip));
      const out = join(dir, flip ? 'flipped' : 'plain');
      await runPipeline({ pipelinePath, outDir: out, quiet: true, backend: 'wasm', until: 'qat' });
      runs.push(out);
    }
    const result = (run: string, stage: string) => JSON.parse(readFileSync(join(run, stage, 'result.json'), 'utf8'));
    for (const stage of ['finetune-teacher', 'transfer', 'qat']) {
      // The same weights, tensors and state; only the fingerprint differs (it covers the test file's contents, which the baselines read).
      const [ca, cb] = runs.map((r) => modelContent(join(r, stage, 'model.ckpt')));
      expect(cb, stage).toEqual(ca);
      const [a, b] = runs.map((r) => result(r, stage));
      expect(b.details.evaluations, stage).toEqual(a.details.evaluations);
      expect(b.metrics.dev_accuracy, stage).toBe(a.metrics.dev_accuracy);
      // No training stage measures the test split: that is export's, on the files it writes.
      expect(
        Object.keys(b.metrics).filter((k) => k.includes('test') && !k.startsWith('baseline_')),
        stage,
      ).toEqual([]);
    }
    // The test split did change: flipped labels give the complementary majority-class baseline.
    const [a, b] = runs.map((r) => result(r, 'finetune-teacher').metrics);
    expect(b.baseline_majority_test_accuracy).toBeCloseTo(1 - a.baseline_majority_test_accuracy, 10);
  }, 600_000);
});
