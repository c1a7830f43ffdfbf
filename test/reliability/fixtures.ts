/**
 * Small, fast fixtures for the run-directory tests: the smoke pipeline cut down with --set to a
 * couple of steps per stage, and a way to watch what a run logs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runPipeline, type RunOptions, type RunSummary } from '../../src/pipeline/run.js';

export const SMOKE = resolve('pipelines/smoke.yaml');
export const CLI = resolve('dist/cli/main.js');

/** Two steps per training stage, no periodic checkpoints: seconds per stage on this machine. */
export const TINY_SETS = [
  'stages.teacher.train.steps=2',
  'stages.teacher.train.warmupSteps=1',
  'stages.teacher.train.checkpointEvery=0',
  'stages.prune-distill.train.steps=2',
  'stages.prune-distill.train.checkpointEvery=0',
  'corpus.maxDocuments=4',
];

/** Runs the pipeline with its log captured (as the CLI prints it). */
export async function runLogged(opts: RunOptions): Promise<{ summary?: RunSummary; error?: Error; log: string }> {
  const lines: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const summary = await runPipeline({ backend: 'wasm', ...opts, quiet: false });
    return { summary, log: lines.join('') };
  } catch (e) {
    return { error: e as Error, log: lines.join('') };
  } finally {
    process.stderr.write = orig;
  }
}

/** Every file under dir, relative, sorted. */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p, rel ? `${rel}/${e}` : e);
      else out.push(rel ? `${rel}/${e}` : e);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** Runs the built CLI (dist/) to the end. */
export function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
