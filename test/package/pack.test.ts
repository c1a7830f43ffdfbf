/**
 * The package as a user gets it: `npm pack` (which builds dist/ through `prepare`), the tarball
 * installed into an empty project, then the smoke pipeline run through `import { runPipeline } from
 * 'prune-once'` (at even smaller settings), and a TypeScript consumer type-checked against the
 * shipped declarations. The pack runs in a copy of the sources, so the repository's dist/ (which the
 * CLI tests use) is never touched.
 *
 * The "install" makes no network round trip (an `npm install` of the tarball took 100 s of the
 * suite): the tarball is unpacked into the consumer's node_modules/prune-once, as npm would, and
 * node_modules gets a link to the repository's copy of each package the packed package.json lists
 * under `dependencies`, and of nothing else. The package's own files resolve their imports from
 * there, so a module it needs but does not declare (a devDependency, an optional native backend)
 * is not found and the run fails, as it would for a user.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/schema.js';
import { tempDir } from '../helpers.js';

const REPO = resolve('.');
const STAGES = ['teacher', 'prune-distill', 'finetune-teacher', 'transfer', 'qat', 'export', 'report'];

interface Ran {
  stdout: string;
  stderr: string;
  status: number | null;
  seconds: number;
}

/** Runs a command without blocking the test worker (a blocked worker loses its link to vitest). */
function sh(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<Ran> {
  const t0 = performance.now();
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_update_notifier: 'false' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => (stderr += String(e)));
    child.on('close', (status) => {
      clearTimeout(timer);
      done({ stdout, stderr, status, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

function ok(r: Ran, what: string): Ran {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r;
}

let work = '';
let files: string[] = [];
let deps: string[] = [];
let consumer: { order: string[]; stages: Array<{ stage: string; status: string; metrics: Record<string, number> }> };
const timings: Record<string, number> = {};

beforeAll(async () => {
  work = tempDir('prune-once-pack-');
  // A copy of what `npm pack` reads, with the repository's node_modules for the build (typescript, types).
  const pkg = join(work, 'pkg');
  mkdirSync(pkg);
  for (const f of ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'src', 'pipelines', 'configs'])
    cpSync(join(REPO, f), join(pkg, f), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  const out = join(work, 'out');
  mkdirSync(out);
  const pack = ok(await sh('npm', ['pack', '--json', '--pack-destination', out], pkg, 300_000), 'npm pack');
  timings.pack = pack.seconds;
  const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = info[0].files.map((f) => f.path);
  const tarball = join(out, info[0].filename.replace(/^.*\//, ''));

  const app = join(work, 'app');
  const installed = join(app, 'node_modules', 'prune-once');
  mkdirSync(installed, { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // npm's tarballs hold the files under package/.
  const unpack = ok(await sh('tar', ['-xzf', tarball, '-C', installed, '--strip-components', '1'], app, 300_000), 'unpacking the tarball');
  timings.install = unpack.seconds;
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  deps = Object.keys(manifest.dependencies);
  for (const dep of deps) {
    const from = join(REPO, 'node_modules', dep);
    if (!existsSync(from)) throw new Error(`${dep}: a dependency of the packed package.json that the repository's node_modules lacks (npm ci)`);
    mkdirSync(dirname(join(app, 'node_modules', dep)), { recursive: true });
    symlinkSync(from, join(app, 'node_modules', dep), 'dir');
  }
  writeFileSync(
    join(app, 'run.mjs'),
    `import { runPipeline, STAGE_ORDER } from 'prune-once';
const [pipelinePath, outDir] = process.argv.slice(2);
const sets = ['stages.teacher.train.steps=4', 'stages.prune-distill.train.steps=4', 'stages.finetune-teacher.train.steps=2', 'stages.transfer.train.steps=2',
  'stages.qat.train.steps=2', 'stages.qat.quantization.calibrationBatches=1', 'stages.report.latencyBatches=[1]', 'stages.report.latencyRuns=1', 'stages.report.brotliQuality=5'];
const summary = await runPipeline({ pipelinePath, outDir, sets, quiet: true, backend: 'wasm' });
process.stdout.write(JSON.stringify({ order: STAGE_ORDER, stages: summary.stages.map((s) => ({ stage: s.stage, status: s.status, metrics: s.result.metrics })) }));
`,
  );
  const run = ok(await sh(process.execPath, ['run.mjs', join(REPO, 'pipelines', 'smoke.yaml'), join(work, 'run')], app, 600_000), 'the consumer pipeline run');
  timings.run = run.seconds;
  consumer = JSON.parse(run.stdout) as typeof consumer;
  process.stderr.write(`pack test: npm pack ${timings.pack.toFixed(1)} s, unpack ${timings.install.toFixed(1)} s, smoke run ${timings.run.toFixed(1)} s\n`);
}, 1_500_000);

describe('the packed package', () => {
  it('ships the build, the CLI and the pipelines, not the sources or the tests', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/cli/main.js',
        'pipelines/smoke.yaml',
        'configs/train/pretrain-cpu.yaml',
      ]),
    );
    expect(files.filter((f) => /^(src|test)\/|\.map$|\.tsbuildinfo$/.test(f))).toEqual([]);
  });

  it('declares what it imports: only the dependencies are linked, a devDependency does not resolve, and its bin runs', async () => {
    const installed = join(work, 'app', 'node_modules', 'prune-once');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(deps).toEqual(expect.arrayContaining(['@tensorflow/tfjs-core', 'onnxruntime-node']));
    expect(deps.filter((d) => d in manifest.devDependencies)).toEqual([]);
    // What a missing declaration would meet: from the installed package, vitest is not found.
    const from = createRequire(join(installed, 'package.json'));
    expect(() => from.resolve('vitest')).toThrow(/Cannot find module 'vitest'/);
    expect(from.resolve('onnxruntime-node')).toContain('onnxruntime-node');
    const bin = join(installed, manifest.bin['prune-once']);
    const help = await sh(process.execPath, [bin, '--help'], join(work, 'app'), 120_000);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/prune-once run/);
  });

  it("runs every stage of the smoke pipeline through `import { runPipeline } from 'prune-once'`", () => {
    expect(consumer.order).toEqual(STAGES);
    expect(consumer.stages.map((s) => [s.stage, s.status])).toEqual(STAGES.map((s) => [s, 'ran']));
    const run = join(work, 'run');
    for (const s of STAGES) {
      const result = JSON.parse(readFileSync(join(run, s, 'result.json'), 'utf8')) as { stage: string; fingerprint: string; metrics: Record<string, number> };
      expect(result.stage).toBe(s);
      expect(result.fingerprint).toMatch(/^[0-9a-f]{16}$/);
      expect(result.metrics).toEqual(consumer.stages.find((c) => c.stage === s)!.metrics);
    }
    const m = (stage: string) => consumer.stages.find((s) => s.stage === stage)!.metrics;
    expect(m('teacher').mlm_accuracy).toBeGreaterThanOrEqual(0);
    expect(m('teacher').mlm_tokens).toBeGreaterThan(0);
    expect(m('prune-distill').sparsity).toBeCloseTo(0.9, 3);
    expect(m('transfer').dev_accuracy).toBeGreaterThan(0);
    expect(m('export').int8_bytes).toBe(statSync(join(run, 'model.int8.onnx')).size);
    expect(m('export').int8_ort_tfjs_agreement).toBeGreaterThan(0.9);
    const report = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8')) as Report;
    expect(report.schema).toBe('prune-once/report');
    const enc = report.totals.encoderLinear;
    expect(m('report').encoder_theoretical).toBeCloseTo((32 * enc.params) / (8 * enc.nonZeros), 10);
    expect(existsSync(join(run, 'report.md'))).toBe(true);
  });

  it('type-checks a TypeScript consumer against the shipped declarations (and rejects a wrong call)', async () => {
    const app = join(work, 'app');
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          lib: ['ES2022', 'DOM'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        include: ['*.ts'],
      }),
    );
    // The README's example, as written there.
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const example = /### As a library[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme);
    expect(example, 'a ```ts block under "### As a library" in README.md').not.toBeNull();
    writeFileSync(join(app, 'readme.ts'), example![1]);
    writeFileSync(
      join(app, 'good.ts'),
      `import { runPipeline, loadPipeline, magnitudeMask, type RunSummary, type TrainHook } from 'prune-once';
export async function go(path: string): Promise<number> {
  const summary: RunSummary = await runPipeline({ pipelinePath: path, until: 'teacher', quiet: true });
  const hook: TrainHook | null = null;
  void hook; void magnitudeMask; void loadPipeline;
  return summary.stages.length;
}
`,
    );
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    ok(await sh(process.execPath, [tsc, '-p', 'tsconfig.json'], app, 300_000), 'tsc on the consumer');
    writeFileSync(join(app, 'bad.ts'), `import { runPipeline } from 'prune-once';\nexport const p = runPipeline({ pipelinePath: 42, until: 'nowhere' });\n`);
    const bad = await sh(process.execPath, [tsc, '-p', 'tsconfig.json'], app, 300_000);
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/bad\.ts.*TS2322/s);
    expect(bad.stdout).not.toMatch(/(good|readme)\.ts/);
  });
});
