/**
 * Runs that several test files read, made once per `vitest run`: the first file to ask runs the
 * pipeline, the others (in other workers) wait for it and read the same directory. Readers must not
 * change a shared run: a test that does copies it first.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { inject } from 'vitest';
import { parse } from 'yaml';
import { runPipeline, type RunSummary } from '../src/pipeline/run.js';
import { tempDir, useTestBackend } from './helpers.js';

export interface SharedRun {
  /** The pipeline file the run was made from. */
  pipelinePath: string;
  runDir: string;
  /** What runPipeline returned when it made the run (every stage 'ran'). */
  first: RunSummary;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `make` writes the pipeline into dir and returns its path; the run is made from it in dir/run, once. */
async function sharedRun(name: string, make: (dir: string) => string): Promise<SharedRun> {
  const base = inject('sharedRunsDir') ?? tempDir();
  const dir = join(base, name);
  const done = join(dir, 'first-run.json');
  const lock = join(base, `${name}.lock`);
  // mkdir is atomic: one worker makes the run, the others wait for it.
  for (let waited = 0; ; waited += 500) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (waited > 1_800_000) throw new Error(`${lock}: still held after 30 minutes; a test worker died while making the shared run (remove ${lock})`);
      await sleep(500);
    }
  }
  try {
    if (!existsSync(done)) {
      mkdirSync(dir, { recursive: true });
      const pipelinePath = make(dir);
      await useTestBackend();
      const first = await runPipeline({ pipelinePath, outDir: join(dir, 'run'), quiet: true, backend: 'wasm' });
      writeFileSync(done, JSON.stringify({ pipelinePath, first }));
    }
  } finally {
    rmdirSync(lock);
  }
  const { pipelinePath, first } = JSON.parse(readFileSync(done, 'utf8')) as { pipelinePath: string; first: RunSummary };
  return { pipelinePath, runDir: join(dir, 'run'), first };
}

/** Per-task data settings of the shared multi-task run: small splits, short sequences. */
export const TASK_SETTINGS = 'seqLen: 32, maxPerSplit: 48, evalBatchSize: 32';
export const SMOKE = resolve('pipelines/smoke.yaml');

/**
 * The smoke pipeline's stages, the report's brotli sizes at quality 5 (a tenth of a second where
 * 11 takes ~10 s per file here; no test of these runs checks the quality), as a YAML flow mapping.
 */
export function smokeStagesFastReport(): string {
  const { stages } = parse(readFileSync(SMOKE, 'utf8')) as { stages: Record<string, Record<string, unknown>> };
  return JSON.stringify({ ...stages, report: { ...stages.report, brotliQuality: 5 } });
}

/** The smoke pipeline with `tasks:` (its report fast, as above); `tasks` is the YAML of its tasks, indented by two spaces. */
export function writeTasksPipeline(dir: string, tasks: string, file = 'tasks.yaml'): string {
  const path = join(dir, file);
  writeFileSync(path, `use: ${SMOKE}\nname: smoke-tasks\nstages: ${smokeStagesFastReport()}\ntasks:\n${tasks}`);
  return path;
}

/** The multi-task smoke run: the smoke pipeline's stages, two tasks (spam, era), laid out as the main job's. */
export function sharedMultiTaskRun(): Promise<SharedRun> {
  return sharedRun('multitask', (dir) =>
    writeTasksPipeline(dir, `  spam: { kind: spam-assassin, ${TASK_SETTINGS} }\n  era: { kind: sotu-era, ${TASK_SETTINGS} }\n`),
  );
}

/** The smoke run (pipelines/smoke.yaml as it is), shared by the smoke, browser, bundle-safety and transformers.js tests. */
export function sharedSmokeRun(): Promise<SharedRun> {
  return sharedRun('smoke', () => SMOKE);
}

/**
 * A private copy of the shared smoke run, `<temp>/smoke`, to change at will (a run's files hold no
 * absolute path but report.json's `path` fields, which then name the shared run's identical files).
 */
export async function smokeRunCopy(): Promise<string> {
  const dir = join(tempDir('prune-once-smoke-'), 'smoke');
  cpSync((await sharedSmokeRun()).runDir, dir, { recursive: true });
  return dir;
}
