/**
 * One run of pipelines/smoke.yaml shared by the test files that need a finished run: the first file
 * to ask runs it, the others wait for it, and each works on its own copy (a run's files hold no
 * absolute path but report.json's `path` fields, which then name the shared run's identical files).
 * Keyed by the vitest process (the test workers' parent), so each `vitest run` makes a fresh one.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPipeline } from '../src/pipeline/run.js';
import { tempDir } from './helpers.js';

export const SMOKE_PIPELINE = 'pipelines/smoke.yaml';

const SHARED = join(tmpdir(), `prune-once-shared-smoke-${process.ppid}`);
const RUN = join(SHARED, 'smoke');
const DONE = join(SHARED, 'done');
const FAILED = join(SHARED, 'failed');

async function sharedRun(): Promise<string> {
  try {
    mkdirSync(SHARED); // atomic: one test file wins and runs the pipeline
  } catch {
    for (;;) {
      if (existsSync(DONE)) return RUN;
      if (existsSync(FAILED)) throw new Error(`the shared smoke run (${RUN}) failed in another test file:\n${readFileSync(FAILED, 'utf8')}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    await runPipeline({ pipelinePath: SMOKE_PIPELINE, outDir: RUN, quiet: true, backend: 'wasm' });
  } catch (e) {
    writeFileSync(FAILED, (e as Error).stack ?? String(e));
    throw e;
  }
  writeFileSync(DONE, '');
  return RUN;
}

/** A private copy of the shared smoke run, `<temp>/smoke`, to read or change at will. */
export async function smokeRunCopy(): Promise<string> {
  const dir = join(tempDir('prune-once-smoke-'), 'smoke');
  cpSync(await sharedRun(), dir, { recursive: true });
  return dir;
}
