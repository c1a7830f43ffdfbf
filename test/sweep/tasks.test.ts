/**
 * A sweep of a `tasks:` pipeline (two tasks x two sparsities, local executor): the shared teacher
 * and prune-distill are jobs of their own, once per fingerprint, and each task's stages are jobs that
 * need them; the jobs fill exactly the cache entries a plain `prune-once run --cache` of a point's
 * pipeline uses (it restores every stage and computes only its reports, whose figures are the
 * sweep's); the report has per-task rows and a per-task Pareto frontier; sweep-report.html shows
 * sweep-report.json's figures.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { brotliCompressSync, constants } from 'node:zlib';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readExecutions } from '../../src/pipeline/stage-cache.js';
import type { Report } from '../../src/report/schema.js';
import { StageChildPool, type StageJobData } from '../../src/sweep/execute.js';
import { planSweep, type StageJob } from '../../src/sweep/plan.js';
import type { Pipeline } from '../../src/pipeline/pipeline-schema.js';
import type { SweepReport } from '../../src/sweep/report.js';
import { tempDir } from '../helpers.js';
import { checkSweepHtml } from './html-check.js';

const SWEEP = 'test/sweep/tasks-sweep.yaml';
const TASKS = ['spam', 'sotu-era'];
const TASK_STAGES = ['finetune-teacher', 'transfer', 'qat', 'export'];
const tmp = tempDir('prune-once-sweep-tasks-');
const cache = join(tmp, 'cache');
const out = join(tmp, 'sweep');

function cli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['dist/cli/main.js', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.once('exit', (code) => resolvePromise({ code, stderr }));
  });
}

describe('planning a sweep of a tasks: pipeline', () => {
  it('makes the shared stages one job per fingerprint and every task stage a job of its own that needs them', () => {
    const plan = planSweep(SWEEP);
    expect(plan.points.map((p) => p.id)).toEqual(['finalSparsity=0.5', 'finalSparsity=0.9']);
    const count = (stage: string, task?: string) => plan.jobs.filter((j) => j.stage === stage && j.task === task).length;
    expect([count('teacher'), count('prune-distill')]).toEqual([1, 2]);
    // A task's fine-tuned teacher reads only the teacher: one job for both sparsities.
    for (const t of TASKS) expect(TASK_STAGES.map((s) => count(s, t))).toEqual([1, 2, 2, 2]);
    expect(plan.jobs.length).toBe(17);
    const byFp = new Map(plan.jobs.map((j) => [j.fingerprint, j]));
    for (const j of plan.jobs.filter((x) => x.task)) {
      expect(Object.keys(j.pipeline.tasks ?? {}), 'a task job carries only its task').toEqual([j.task]);
      // Each task stage needs the shared stage it reads, in the same point.
      if (j.stage === 'finetune-teacher') expect(j.needs.map((n) => byFp.get(n)!.stage)).toEqual(['teacher']);
      if (j.stage === 'transfer') expect(j.needs.map((n) => byFp.get(n)!.stage).sort()).toEqual(['finetune-teacher', 'prune-distill']);
      for (const n of j.needs) expect(byFp.get(n)!.task ?? j.task).toBe(j.task);
    }
    // Every job comes after the jobs it needs.
    const seen = new Set<string>();
    for (const j of plan.jobs) {
      for (const n of j.needs) expect(seen.has(n)).toBe(true);
      seen.add(j.fingerprint);
    }
    // The report stage is in each point's plan, per task, but is no job (the sweep report replaces it).
    expect(plan.points[0].stages.filter((s) => s.stage === 'report').map((s) => s.task)).toEqual(TASKS);
  });
});

describe('a sweep of a tasks: pipeline', () => {
  let report: SweepReport;
  beforeAll(async () => {
    const r = await cli(['sweep', SWEEP, '--executor', 'local', '--workers', '2', '--cache', cache, '--out', out, '--backend', 'wasm']);
    expect(r.code, r.stderr).toBe(0);
    report = JSON.parse(readFileSync(join(out, 'sweep-report.json'), 'utf8')) as SweepReport;
  }, 1_200_000);

  it('ran each stage job once and laid out each point as a multi-task run', () => {
    const plan = planSweep(SWEEP);
    const runs = readExecutions(cache).filter((r) => r.outcome !== 'not cacheable');
    expect(runs.map((r) => r.fingerprint).sort()).toEqual(plan.jobs.map((j) => j.fingerprint).sort());
    for (const p of plan.points) {
      const dir = join(out, 'points', p.id);
      for (const s of ['teacher', 'prune-distill']) expect(existsSync(join(dir, s, 'result.json')), `${p.id}/${s}`).toBe(true);
      for (const t of TASKS) {
        for (const s of TASK_STAGES) expect(existsSync(join(dir, 'tasks', t, s, 'result.json')), `${p.id}/tasks/${t}/${s}`).toBe(true);
        expect(existsSync(join(dir, 'tasks', t, 'model.int8.onnx'))).toBe(true);
      }
    }
  });

  it('reports per task: a row per task and sparsity, the sparsity reached, a Pareto frontier in each task', () => {
    expect(report.groups.map((g) => `${g.task} ${g.finalSparsity}`)).toEqual(['sotu-era 0.5', 'sotu-era 0.9', 'spam 0.5', 'spam 0.9']);
    expect(report.points.map((p) => `${p.id} ${p.task}`).sort()).toEqual(
      ['finalSparsity=0.5 sotu-era', 'finalSparsity=0.5 spam', 'finalSparsity=0.9 sotu-era', 'finalSparsity=0.9 spam'].sort(),
    );
    for (const g of report.groups) {
      expect(g.figures.encoder_sparsity.mean).toBeCloseTo(g.finalSparsity, 2);
      for (const f of ['teacher_accuracy', 'fp32_accuracy', 'int8_accuracy'] as const) expect(g.figures[f].mean).toBeGreaterThanOrEqual(0);
    }
    for (const t of TASKS)
      expect(
        report.groups.some((g) => g.task === t && g.pareto),
        t,
      ).toBe(true);
    // The sparser model is smaller after brotli, so it is on each task's frontier.
    for (const t of TASKS) expect(report.groups.find((g) => g.task === t && g.finalSparsity === 0.9)!.pareto).toBe(true);
  });

  it('filled the cache entries a plain run of a point uses: it restores every stage and computes only its reports', async () => {
    const plan = planSweep(SWEEP);
    const point = plan.points.find((p) => p.id === 'finalSparsity=0.9')!;
    const before = readExecutions(cache).filter((r) => r.outcome !== 'not cacheable').length;
    const runDir = join(tmp, 'run');
    const r = await cli([
      'run',
      'test/sweep/tiny-tasks.yaml',
      ...point.sets.flatMap((s) => ['--set', s]),
      '--cache',
      cache,
      '--out',
      runDir,
      '--backend',
      'wasm',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const restored = [...r.stderr.matchAll(/^(\S+): restored from the cache .* \(fingerprint ([0-9a-f]+)\)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    const want = point.stages.filter((s) => s.stage !== 'report').map((s) => `${s.task ? `${s.task}/` : ''}${s.stage} ${s.fingerprint}`);
    expect(restored).toEqual(want);
    expect(r.stderr.match(/^\S+: running$/gm)).toEqual(TASKS.map((t) => `${t}/report: running`));
    expect(readExecutions(cache).filter((x) => x.outcome !== 'not cacheable').length, 'no cacheable stage ran again').toBe(before);
    // The run's reports give the sweep's figures.
    for (const t of TASKS) {
      const rep = JSON.parse(readFileSync(join(runDir, 'tasks', t, 'report.json'), 'utf8')) as Report;
      const f = report.points.find((p) => p.id === point.id && p.task === t)!.figures;
      expect(rep.accuracy.int8Ort, t).toBe(f.int8_accuracy);
      expect(rep.accuracy.fp32Ort, t).toBe(f.fp32_accuracy);
      expect(rep.accuracy.teacherOrt, t).toBe(f.teacher_accuracy);
      expect(rep.files.int8.bytes, t).toBe(f.int8_bytes);
      expect(rep.files.fp32.bytes, t).toBe(f.fp32_bytes);
      // Brotli sizes at the pipeline's report.brotliQuality (5 in tiny.yaml), in the report and the sweep's figures alike.
      expect([rep.files.int8.brotliQuality, rep.files.int8.brotliBytes], t).toEqual([5, f.int8_brotli_bytes]);
      expect(rep.files.fp32.brotliBytes, t).toBe(f.fp32_brotli_bytes);
      const int8 = readFileSync(join(runDir, 'tasks', t, 'model.int8.onnx'));
      const q5 = brotliCompressSync(int8, { params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_SIZE_HINT]: int8.length } });
      expect(f.int8_brotli_bytes, t).toBe(q5.length);
      expect(rep.ratios.teacher_file_brotli!.definition).toContain('quality 5');
    }
    expect(report.brotliQuality).toBe(5);
    expect(report.definitions.int8_brotli_bytes).toContain('quality 5');
    expect(existsSync(join(runDir, 'tasks.json'))).toBe(true);
  }, 600_000);

  it('runs jobs in child processes that take one job after another, and never reuses one whose job failed', async () => {
    const plan = planSweep(SWEEP);
    const pool = new StageChildPool({ backend: 'wasm' });
    const data = (j: StageJob): StageJobData => ({ stage: j.stage, task: j.task, fingerprint: j.fingerprint, pipeline: j.pipeline });
    try {
      // Every job is in the cache by now: each returns at once, in the same child.
      const a = await pool.run(cache, data(plan.jobs[0])).promise;
      const b = await pool.run(cache, data(plan.jobs[1])).promise;
      expect([a.outcome, b.outcome]).toEqual(['cached', 'cached']);
      expect(b.pid).toBe(a.pid);
      expect(a.pid).not.toBe(process.pid);
      // A job whose pipeline does not load fails, and its child is killed, not reused.
      const bad: StageJobData = { ...data(plan.jobs[2]), fingerprint: '0000000000000000', pipeline: { name: 'broken' } as unknown as Pipeline };
      await expect(pool.run(cache, bad).promise).rejects.toThrow(/pipeline/);
      const c = await pool.run(cache, data(plan.jobs[0])).promise;
      expect(c.pid).not.toBe(a.pid);
    } finally {
      pool.close();
    }
  }, 120_000);

  it("writes sweep-report.html whose figures are sweep-report.json's, with a panel per task", () => {
    const { html } = checkSweepHtml(out);
    for (const t of TASKS) expect(html).toContain(`>${t}</text>`);
    expect(html).toContain('Pareto frontier');
  });
});
