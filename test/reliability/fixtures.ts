/**
 * Small, fast fixtures for the run-directory tests: the smoke pipeline cut down with --set to a
 * couple of steps per stage, and a way to watch what a run logs.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
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
  // The report's brotli sizes at quality 5: a tenth of a second where 11 takes ~10 s per file here.
  'stages.report.brotliQuality=5',
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

/** Every stage on two steps, up to the export stage's ONNX files: what bundle and the cache tests need. */
export const TINY_ALL_SETS = [
  ...TINY_SETS,
  'stages.finetune-teacher.train.steps=2',
  'stages.finetune-teacher.train.checkpointEvery=0',
  'stages.transfer.train.steps=2',
  'stages.transfer.train.checkpointEvery=0',
  'stages.qat.train.steps=2',
  'stages.qat.train.checkpointEvery=0',
];

/**
 * Every entry under dir (symlinks not followed) -> sha256 of a file's bytes, 'dir', or 'link -> target':
 * two equal trees mean nothing was deleted, replaced or written through a link.
 */
export function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      const r = rel ? `${rel}/${e}` : e;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out[r] = `link -> ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[r] = 'dir';
        walk(p, r);
      } else out[r] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir, '');
  return out;
}

/**
 * Runs the built CLI (dist/) to the end. Asynchronously: a synchronous spawn would block the test
 * worker's event loop for the whole run, and vitest's worker RPC times out on a busy machine.
 */
export function cli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (status, signal) => resolvePromise({ status, signal, stdout, stderr }));
  });
}
