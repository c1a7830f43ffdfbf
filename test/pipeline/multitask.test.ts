/**
 * Prune once, transfer to all: a pipeline with several tasks runs the shared teacher and
 * prune-distill once and each task's stages in tasks/<task>/; its table of tasks recomputes from
 * the tasks' reports; a task added later reuses the sparse pre-trained model (the shared stages and
 * the earlier tasks are up to date) and only the new task runs. The first run is the shared
 * multi-task run (test/shared-runs.ts), which test/cli/readme.test.ts also reads.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runPipeline, type RunSummary } from '../../src/pipeline/run.js';
import { tasksSummary, type TasksSummary } from '../../src/report/tasks.js';
import type { Report } from '../../src/report/schema.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { sharedMultiTaskRun, SMOKE, smokeStagesFastReport, TASK_SETTINGS as TASK, writeTasksPipeline } from '../shared-runs.js';

let dir = '';
/** The shared run: read only (the test that adds a task works on a copy). */
let runDir = '';
let first: RunSummary;

/** A small user task: sentences about the sea (0) or about money (1). */
function writeUserTask(at: string): { train: string; dev: string } {
  const sea = ['the ship sailed across the ocean', 'waves broke on the shore', 'the navy guarded the coast', 'sailors crossed the sea'];
  const money = ['the treasury paid the debt', 'taxes and revenue grew', 'the bank lent money', 'the budget had a deficit'];
  const rows = (n: number, offset: number) =>
    [
      'sentence\tlabel',
      ...Array.from({ length: n }, (_, i) =>
        i % 2 === 0 ? `${sea[(i + offset) % 4]} in year ${i + offset}\t0` : `${money[(i + offset) % 4]} in year ${i + offset}\t1`,
      ),
    ].join('\n') + '\n';
  const train = join(at, 'train.tsv');
  const dev = join(at, 'dev.tsv');
  writeFileSync(train, rows(40, 0));
  writeFileSync(dev, rows(16, 100));
  return { train, dev };
}

beforeAll(async () => {
  await useTestBackend();
  dir = tempDir();
  ({ runDir, first } = await sharedMultiTaskRun());
}, 900_000);

describe('a pipeline with several tasks', () => {
  it('runs the shared stages once and every task stage per task, each task in its own directory', () => {
    const ran = first.stages.map((s) => `${s.task ?? '-'}:${s.stage}:${s.status}`);
    const taskStages = ['finetune-teacher', 'transfer', 'qat', 'export', 'report'];
    expect(ran).toEqual(['-:teacher:ran', '-:prune-distill:ran', ...['spam', 'era'].flatMap((t) => taskStages.map((s) => `${t}:${s}:ran`))]);
    for (const s of ['teacher', 'prune-distill']) expect(existsSync(join(runDir, s, 'model.ckpt')), s).toBe(true);
    for (const t of ['spam', 'era']) {
      for (const f of ['model.int8.onnx', 'model.fp32.onnx', 'report.json', 'report.md', 'transfer/model.ckpt'])
        expect(existsSync(join(runDir, 'tasks', t, f)), `${t}/${f}`).toBe(true);
      expect(existsSync(join(runDir, 'tasks', t, 'teacher')), `${t} holds no copy of the teacher`).toBe(false);
    }
  });

  it('transfers one sparse student: every task starts from the same prune-distill output', () => {
    const fp = JSON.parse(readFileSync(join(runDir, 'prune-distill', 'result.json'), 'utf8')).fingerprint;
    for (const t of ['spam', 'era']) {
      const report = JSON.parse(readFileSync(join(runDir, 'tasks', t, 'report.json'), 'utf8')) as Report;
      expect(report.stages.find((s) => s.stage === 'prune-distill')?.fingerprint, t).toBe(fp);
      expect(report.accuracy.mlm.sparseStudent, t).not.toBeNull();
    }
    const era = JSON.parse(readFileSync(join(runDir, 'tasks', 'era', 'report.json'), 'utf8')) as Report;
    expect(era.accuracy.task).toContain('era');
  });

  it("writes the table of tasks, whose figures are those of each task's report and baselines", () => {
    const table = JSON.parse(readFileSync(join(runDir, 'tasks.json'), 'utf8')) as TasksSummary;
    expect(table).toEqual(tasksSummary(runDir, ['spam', 'era']));
    for (const row of table.tasks) {
      const report = JSON.parse(readFileSync(join(runDir, 'tasks', row.task, 'report.json'), 'utf8')) as Report;
      const ft = JSON.parse(readFileSync(join(runDir, 'tasks', row.task, 'finetune-teacher', 'result.json'), 'utf8')).metrics;
      expect(row.int8Ort).toBe(report.accuracy.int8Ort);
      expect(row.teacherOrt).toBe(report.accuracy.teacherOrt);
      expect(row.majority).toBe(ft.baseline_majority_test_accuracy);
      expect(row.naiveBayes).toBe(ft.baseline_naive_bayes_test_accuracy);
      expect(row.majority).toBeGreaterThan(0);
    }
    expect(readFileSync(join(runDir, 'tasks.md'), 'utf8')).toContain('| era |');
  });

  it('adds a user task later without rerunning the teacher, prune-distill or the other tasks', async () => {
    const files = writeUserTask(dir);
    const pipeline = writeTasksPipeline(
      dir,
      `  spam: { kind: spam-assassin, ${TASK} }\n  era: { kind: sotu-era, ${TASK} }\n  topics: { kind: tsv, train: ${files.train}, dev: ${files.dev}, seqLen: 32, evalBatchSize: 32 }\n`,
    );
    const grown = join(dir, 'grown');
    cpSync(runDir, grown, { recursive: true });
    const second = await runPipeline({ pipelinePath: pipeline, outDir: grown, quiet: true, backend: 'wasm' });
    const status = Object.fromEntries(second.stages.map((s) => [`${s.task ?? '-'}:${s.stage}`, s.status]));
    expect(status['-:teacher']).toBe('up to date');
    expect(status['-:prune-distill']).toBe('up to date');
    for (const t of ['spam', 'era'])
      expect(
        second.stages.filter((s) => s.task === t).every((s) => s.status === 'up to date'),
        t,
      ).toBe(true);
    expect(second.stages.filter((s) => s.task === 'topics').map((s) => s.status)).toEqual(['ran', 'ran', 'ran', 'ran', 'ran']);
    expect(existsSync(join(grown, 'tasks', 'topics', 'model.int8.onnx'))).toBe(true);
    const table = JSON.parse(readFileSync(join(grown, 'tasks.json'), 'utf8')) as TasksSummary;
    expect(table.tasks.map((t) => t.task)).toEqual(['spam', 'era', 'topics']);
  }, 900_000);
});

describe('a second pipeline that takes its sparse student from the first run (prune-distill.from)', () => {
  it('runs a new user task on it without pre-training or pruning again', async () => {
    const files = writeUserTask(dir);
    const second = join(dir, 'second.yaml');
    const stages = JSON.parse(smokeStagesFastReport()) as Record<string, unknown>;
    stages.teacher = { from: join(runDir, 'teacher', 'model.ckpt') };
    stages['prune-distill'] = { from: join(runDir, 'prune-distill') };
    writeFileSync(
      second,
      `use: ${SMOKE}\nname: second\nstages: ${JSON.stringify(stages)}\n` +
        `tasks:\n  topics: { kind: tsv, train: ${files.train}, dev: ${files.dev}, seqLen: 32, evalBatchSize: 32 }\n`,
    );
    const out = join(dir, 'second-run');
    const run = await runPipeline({ pipelinePath: second, outDir: out, quiet: true, backend: 'wasm' });
    const shared = Object.fromEntries(run.stages.filter((s) => !s.task).map((s) => [s.stage, s.result]));
    // Loaded, not trained: no training curve, and the student is the first run's, weight for weight.
    expect(shared.teacher.details.curve).toBeUndefined();
    expect(shared['prune-distill'].details.takenFrom).toBe(join(runDir, 'prune-distill', 'model.ckpt'));
    expect(shared['prune-distill'].details.curve).toBeUndefined();
    const firstPd = first.stages.find((s) => s.stage === 'prune-distill')!.result.metrics;
    expect(shared['prune-distill'].metrics.sparsity).toBe(firstPd.sparsity);
    expect(shared['prune-distill'].metrics.mlm_accuracy).toBe(firstPd.mlm_accuracy);
    expect(run.stages.filter((s) => s.task === 'topics').map((s) => s.status)).toEqual(['ran', 'ran', 'ran', 'ran', 'ran']);
    expect(existsSync(join(out, 'tasks', 'topics', 'model.int8.onnx'))).toBe(true);
    const table = JSON.parse(readFileSync(join(out, 'tasks.json'), 'utf8')) as TasksSummary;
    expect(table.tasks.map((t) => t.task)).toEqual(['topics']);
    // A student that is not a prune-distill output is refused, naming the field and the file.
    writeFileSync(second, readFileSync(second, 'utf8').replace(join(runDir, 'prune-distill'), join(runDir, 'teacher')));
    await expect(runPipeline({ pipelinePath: second, outDir: join(dir, 'third-run'), quiet: true, backend: 'wasm' })).rejects.toThrow(
      /stages\.prune-distill\.from: .*teacher.*model\.ckpt is not a prune-distill output/,
    );
  }, 900_000);
});
