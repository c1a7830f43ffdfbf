/**
 * Sweeps (issue 17) on a tiny pipeline, 2 sparsities x 2 seeds (the fewest that show a seed's teachers
 * shared by its sparsities, two groups, and a seed mix-up):
 * - on two BullMQ workers against a real redis-server (Debian's; skipped, saying why, without it),
 *   one of them SIGKILLed while a prune-distill job is mid-stage (its resume.ckpt written);
 * - with the local executor (two child processes), on another cache, for one point only
 *   (tiny-sweep-one.yaml: that point's jobs, the same fingerprints; one point is enough to show that
 *   both executors compute the same bytes);
 * - as a plain single run of a point whose grid values both differ from the pipeline's, with no cache;
 * all give the same figures and the same exported bytes per point, and every stage job ran exactly once on
 * the BullMQ cache (counted from the cache's execution records); sweep-report.html shows the JSON's
 * figures. Bad input fails clearly and leaves nothing in the cache.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/pipeline/load.js';
import { readExecutions } from '../../src/pipeline/stage-cache.js';
import { readResult } from '../../src/run/result.js';
import { planSweep } from '../../src/sweep/plan.js';
import { checkRedis } from '../../src/sweep/redis.js';
import type { SweepReport } from '../../src/sweep/report.js';
import { tempDir } from '../helpers.js';
import { checkSweepHtml } from './html-check.js';

const SWEEP = 'test/sweep/tiny-sweep.yaml';
const SWEEP_ONE = 'test/sweep/tiny-sweep-one.yaml';
const CLI = 'dist/cli/main.js';
const tmp = tempDir('prune-once-sweep-');

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

interface Proc {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
}
function cli(args: string[], opts: { uid?: number } = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], uid: opts.uid, gid: opts.uid });
  let err = '';
  child.stderr!.on('data', (d) => (err += String(d)));
  child.stdout!.on('data', () => {});
  const exit = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, stderr: () => err, exit };
}

let redisUrl = '';
let redis: ChildProcess | null = null;
let noRedis = '';

beforeAll(async () => {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    noRedis = 'redis-server is not installed (apt-get install redis-server; .ci/run does it)';
    return;
  }
  const port = await freePort();
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  redisUrl = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    try {
      await checkRedis(redisUrl, 500);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  noRedis = `redis-server did not answer on ${redisUrl}`;
});

afterAll(() => {
  redis?.kill('SIGTERM');
});

const entries = (cache: string) => (existsSync(join(cache, 'stages')) ? readdirSync(join(cache, 'stages')) : []);
const leftovers = (cache: string) => (existsSync(join(cache, 'tmp')) ? readdirSync(join(cache, 'tmp')) : []);

describe('sweep planning', () => {
  it("makes one job per distinct fingerprint: a seed's teacher and fine-tuned teacher serve all its sparsities", () => {
    const plan = planSweep(SWEEP);
    expect(plan.points.length).toBe(4);
    const count = (s: string) => plan.jobs.filter((j) => j.stage === s).length;
    expect([count('teacher'), count('finetune-teacher'), count('prune-distill'), count('transfer'), count('qat'), count('export')]).toEqual([2, 2, 4, 4, 4, 4]);
    expect(plan.jobs.find((j) => j.stage === 'teacher')!.points.length).toBe(2);
    // Every job comes after the jobs it needs.
    const seen = new Set<string>();
    for (const j of plan.jobs) {
      for (const n of j.needs) expect(seen.has(n)).toBe(true);
      seen.add(j.fingerprint);
    }
  });

  it('rejects a grid key that is not a pipeline field, naming the file, the key and the fix', () => {
    const file = join(tmp, 'bad-key.yaml');
    writeFileSync(file, `name: bad\npipeline: ${join(process.cwd(), 'test/sweep/tiny.yaml')}\ngrid:\n  pruning.finalSparsity: [0.8, 0.9]\n`);
    expect(() => planSweep(file)).toThrow(ConfigError);
    expect(() => planSweep(file)).toThrow(/bad-key\.yaml: grid point .*pruning.*stages\.prune-distill\.pruning\.finalSparsity[\s\S]*unknown field 'pruning'/);
    writeFileSync(file, `name: bad\npipeline: ${join(process.cwd(), 'test/sweep/tiny.yaml')}\ngrid: {}\nworkers: 3\n`);
    expect(() => planSweep(file)).toThrow(/bad-key\.yaml: invalid sweep/);
    expect(() => planSweep(file)).toThrow(/unknown field 'workers'; allowed: name, description, pipeline, set, grid/);
    expect(() => planSweep(file)).toThrow(/grid: a sweep needs at least one grid key/);
  });
});

describe('sweep: bad input fails clearly and writes nothing to the cache', () => {
  it('a Redis URL that does not answer', async () => {
    const port = await freePort();
    const cache = join(tmp, 'cache-noredis');
    for (const args of [
      ['sweep', SWEEP, '--executor', 'bullmq', '--redis', `redis://127.0.0.1:${port}`, '--cache', cache, '--out', join(tmp, 'out-noredis')],
      ['worker', '--redis', `redis://127.0.0.1:${port}`, '--cache', cache],
    ]) {
      const p = cli(args);
      expect(await p.exit).toBe(1);
      expect(p.stderr()).toMatch(new RegExp(`redis://127.0.0.1:${port}: Redis does not answer.*start it`));
    }
    expect(entries(cache)).toEqual([]);
    expect(leftovers(cache)).toEqual([]);
  });

  it('a cache directory that cannot be written', async () => {
    // A path under a regular file (ENOTDIR), which even root cannot create.
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    const p = cli(['sweep', SWEEP, '--cache', join(file, 'cache'), '--out', join(tmp, 'out-ro')]);
    expect(await p.exit).toBe(1);
    expect(p.stderr()).toMatch(/stage cache .*a-file\/cache: not writable \(ENOTDIR.*give --cache a directory/);
    // A read-only directory, as an unprivileged user (root ignores permissions).
    if (process.getuid?.() === 0) {
      const ro = join(tmp, 'ro-cache');
      mkdirSync(ro);
      chmodSync(tmp, 0o755);
      chmodSync(ro, 0o555);
      const q = cli(['run', 'test/sweep/tiny.yaml', '--cache', ro, '--out', join(tmp, 'ro-out')], { uid: 65534 });
      expect(await q.exit).toBe(1);
      expect(q.stderr()).toMatch(/ro-cache: not writable \(EACCES/);
      expect(readdirSync(ro)).toEqual([]);
    }
  });
});

/** Figures and exported bytes of one point's run directory. */
function figures(runDir: string) {
  const m = (s: string) => readResult(join(runDir, s))!.metrics;
  const sha = (f: string) =>
    createHash('sha256')
      .update(readFileSync(join(runDir, f)))
      .digest('hex');
  const e = m('export');
  return {
    teacher: e.teacher_fp32_ort_test_accuracy,
    fp32: e.fp32_ort_test_accuracy,
    int8: e.int8_ort_test_accuracy,
    sparsity: e.int8_encoder_sparsity,
    bytes: [e.fp32_bytes, e.int8_bytes],
    sha: [sha('model.fp32.onnx'), sha('model.int8.onnx')],
  };
}

describe('sweep on BullMQ workers, locally, and as single runs', () => {
  it('gives the same figures; each stage ran once; a worker SIGKILLed mid-stage does not matter', async (ctx) => {
    if (noRedis) return ctx.skip(noRedis);
    const plan = planSweep(SWEEP);
    const cacheQ = join(tmp, 'cache-bullmq');
    const cacheL = join(tmp, 'cache-local');
    // Short lock so the dead worker's job is taken over within seconds (the parent stays idle, so renewals are on time).
    const workerArgs = ['worker', '--redis', redisUrl, '--cache', cacheQ, '--backend', 'wasm', '--lock-duration', '4', '--stalled-interval', '2', '--verbose'];
    const workers = [cli(workerArgs), cli(workerArgs)];
    const sweepQ = cli(['sweep', SWEEP, '--executor', 'bullmq', '--redis', redisUrl, '--cache', cacheQ, '--out', join(tmp, 'sweep-bullmq')]);
    const sweepL = cli([
      'sweep',
      SWEEP_ONE,
      '--executor',
      'local',
      '--workers',
      '2',
      '--cache',
      cacheL,
      '--out',
      join(tmp, 'sweep-local'),
      '--backend',
      'wasm',
    ]);
    // One point whose grid values both differ from tiny.yaml's (0.9, seed 7): the --set of each key is used.
    const singles = ['finalSparsity=0.5_seed=8'].map((id) => {
      const p = plan.points.find((x) => x.id === id)!;
      return {
        id,
        dir: join(tmp, `single-${id}`),
        proc: cli([
          'run',
          'test/sweep/tiny.yaml',
          ...p.sets.flatMap((s) => ['--set', s]),
          '--out',
          join(tmp, `single-${id}`),
          '--until',
          'export',
          '--backend',
          'wasm',
          '--quiet',
        ]),
      };
    });

    // Kill the worker running a prune-distill job once that job has written its resume checkpoint.
    let killed: { fingerprint: string; worker: number } | null = null;
    const deadline = Date.now() + 600_000;
    while (!killed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      const work = join(cacheQ, 'work');
      for (const fp of existsSync(work) ? readdirSync(work) : []) {
        if (!existsSync(join(work, fp, 'prune-distill', 'resume.ckpt'))) continue;
        const w = workers.findIndex((x) => x.stderr().includes(`prune-distill ${fp} started`));
        if (w < 0) continue;
        workers[w].child.kill('SIGKILL');
        killed = { fingerprint: fp, worker: w };
        break;
      }
    }
    expect(killed, 'no prune-distill job was caught mid-stage').not.toBeNull();
    const survivor = workers[1 - killed!.worker];

    expect(await sweepQ.exit, sweepQ.stderr()).toBe(0);
    expect(await sweepL.exit, sweepL.stderr()).toBe(0);
    for (const s of singles) expect(await s.proc.exit, s.proc.stderr()).toBe(0);
    survivor.child.kill('SIGTERM');
    expect(await survivor.exit, 'worker stops gracefully on SIGTERM').toBe(0);

    // The killed job was retried by the other worker and resumed from its checkpoint.
    expect(survivor.stderr()).toContain(`prune-distill ${killed!.fingerprint} started (attempt`);
    expect(survivor.stderr()).toMatch(/prune-distill: resuming from step [1-9]/);

    // Each stage job ran exactly once on the BullMQ cache, shared ones included.
    const runs = readExecutions(cacheQ).filter((r) => r.outcome !== 'not cacheable');
    const perFp = new Map<string, number>();
    for (const r of runs) perFp.set(r.fingerprint, (perFp.get(r.fingerprint) ?? 0) + 1);
    expect([...perFp.keys()].sort()).toEqual(plan.jobs.map((j) => j.fingerprint).sort());
    expect([...perFp.values()].every((n) => n === 1)).toBe(true);
    expect(leftovers(cacheQ)).toEqual([]);
    expect(readdirSync(join(cacheQ, 'work'))).toEqual([]);

    // Same figures and bytes: BullMQ sweep = local sweep (its points, the same jobs) = single runs.
    const q = JSON.parse(readFileSync(join(tmp, 'sweep-bullmq', 'sweep-report.json'), 'utf8')) as SweepReport;
    const l = JSON.parse(readFileSync(join(tmp, 'sweep-local', 'sweep-report.json'), 'utf8')) as SweepReport;
    const local = planSweep(SWEEP_ONE);
    expect(local.points.map((p) => p.id)).toEqual(['finalSparsity=0.5_seed=7']);
    expect(local.jobs.length).toBe(6);
    expect(local.jobs.map((j) => j.fingerprint).every((fp) => plan.jobs.some((j) => j.fingerprint === fp))).toBe(true);
    expect(q.groups.map((g) => g.finalSparsity)).toEqual([0.5, 0.9]);
    for (const g of q.groups) expect(g.figures.encoder_sparsity.mean).toBeCloseTo(g.finalSparsity, 2);
    expect(q.groups.some((g) => g.pareto)).toBe(true);
    expect(l.points.length).toBe(1);
    for (const p of l.points) expect(p.figures).toEqual(q.points.find((x) => x.id === p.id)!.figures);
    for (const p of local.points) expect(figures(join(tmp, 'sweep-bullmq', 'points', p.id))).toEqual(figures(join(tmp, 'sweep-local', 'points', p.id)));
    for (const s of singles) expect(figures(join(tmp, 'sweep-bullmq', 'points', s.id))).toEqual(figures(s.dir));
    // sweep-report.html: the JSON's figures (seeds' min..max bars included) and a Pareto frontier.
    for (const [out, r] of [
      ['sweep-bullmq', q],
      ['sweep-local', l],
    ] as const) {
      const { cells } = checkSweepHtml(join(tmp, out));
      expect(cells.get('groups.0.figures.int8_accuracy.min')).toBe(String(r.groups[0].figures.int8_accuracy.min));
    }
    // The two seeds differ (the test could tell a seed mix-up).
    expect(figures(join(tmp, 'sweep-bullmq', 'points', 'finalSparsity=0.9_seed=7')).sha).not.toEqual(
      figures(join(tmp, 'sweep-bullmq', 'points', 'finalSparsity=0.9_seed=8')).sha,
    );
  }, 2_400_000); // minutes on an idle 2-core machine; far more when the machine is shared
});
