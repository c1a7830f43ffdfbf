/**
 * Runs one stage job against the shared cache: its inputs come from the cache, its output goes to
 * it. The job's run directory is the cache's work area for its fingerprint, so when a job is
 * interrupted (a worker killed mid-stage) its resume.ckpt is there for the retry, on whichever
 * machine shares the cache. A job whose output is already cached does nothing.
 */
import { fork, spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeJsonAtomic } from '../util/fs.js';
import { runPipeline } from '../pipeline/run.js';
import { prepareRunDir } from '../pipeline/run-dir.js';
import { taskRunDir } from '../run/layout.js';
import { openCache, readEntry, workDir } from '../pipeline/stage-cache.js';
import type { Pipeline } from '../pipeline/pipeline-schema.js';
import type { StageName } from '../pipeline/stages/index.js';
import { brotliBytesMemo, SWEEP_FILES } from './report.js';
import { DEFAULT_BROTLI_QUALITY } from '../util/compress.js';

export interface StageJobData {
  stage: StageName;
  /** The task of a task stage of a `tasks:` pipeline: the stage runs in `tasks/<task>/`. */
  task?: string;
  fingerprint: string;
  pipeline: Pipeline;
  /** An export job's: the brotli quality of the sweep report's sizes (plan.ts). */
  brotliQuality?: number;
}

export interface StageJobOutcome {
  fingerprint: string;
  stage: StageName;
  /** 'ran': computed here (maybe resumed); 'cached': the cache already held it. */
  outcome: 'ran' | 'cached';
  seconds: number;
  /** The process that ran it (a pool's child runs one job after another). */
  pid: number;
}

export async function executeStageJob(cacheDir: string, job: StageJobData, opts: { backend?: string; quiet?: boolean } = {}): Promise<StageJobOutcome> {
  openCache(cacheDir);
  const t0 = performance.now();
  if (readEntry(cacheDir, job.fingerprint)) return { fingerprint: job.fingerprint, stage: job.stage, outcome: 'cached', seconds: 0, pid: process.pid };
  const work = workDir(cacheDir, job.fingerprint);
  // A run directory of the cache's own (marked before the job's pipeline file goes in beside the run).
  prepareRunDir(work);
  // JSON is YAML: the runner loads and validates the job's pipeline like any pipeline file.
  const pipelinePath = join(work, 'job-pipeline.json');
  writeJsonAtomic(pipelinePath, job.pipeline);
  const summary = await runPipeline({ pipelinePath, outDir: work, cacheDir, until: job.stage, quiet: opts.quiet ?? true, backend: opts.backend });
  const last = summary.stages.at(-1);
  if (last?.stage !== job.stage || last.task !== job.task || last.result.fingerprint !== job.fingerprint) {
    throw new Error(
      `stage job ${job.task ? `${job.task}/` : ''}${job.stage} ${job.fingerprint}: the worker computed ${last?.task ? `${last.task}/` : ''}${last?.stage} ${last?.result.fingerprint} instead; workers must run the same prune-once version (${summary.pipeline.name}) and see the same input files`,
    );
  }
  if (!readEntry(cacheDir, job.fingerprint)) throw new Error(`stage job ${job.stage} ${job.fingerprint}: finished but not in the cache ${cacheDir}`);
  // The report's slow figure, computed here so it runs on the workers, in parallel.
  const outDir = job.task ? taskRunDir(work, job.task) : work;
  if (job.stage === 'export')
    for (const f of SWEEP_FILES) if (existsSync(join(outDir, f))) brotliBytesMemo(cacheDir, join(outDir, f), job.brotliQuality ?? DEFAULT_BROTLI_QUALITY);
  rmSync(work, { recursive: true, force: true });
  return {
    fingerprint: job.fingerprint,
    stage: job.stage,
    outcome: last.status === 'ran' ? 'ran' : 'cached',
    seconds: (performance.now() - t0) / 1000,
    pid: process.pid,
  };
}

/** The compiled child entry (next to this module in dist/, or dist/ when this module runs from src/). */
function childEntry(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const js = join(here, 'stage-child.js');
  return existsSync(js) ? js : resolve(here, '../../dist/sweep/stage-child.js');
}

const HAS_SETPRIV = process.platform === 'linux' && spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;

export interface ChildHandle {
  promise: Promise<StageJobOutcome>;
  kill(): void;
}

interface ChildReply {
  ok: boolean;
  outcome?: StageJobOutcome;
  error?: string;
}

/**
 * Child processes that run stage jobs, one job at a time each. The parent stays responsive (a
 * BullMQ worker keeps renewing its job lock while the child computes), and a child whose parent
 * dies stops too (IPC disconnect), so a killed worker leaves no orphan writing into the work area
 * while the retry resumes there. A child that finished a job takes the next one: loading tfjs, ONNX
 * Runtime and the embedded data sets costs ~1.5 s of CPU per process, more than a small stage. A
 * child whose job failed or was cancelled is killed, never reused. Its peak-memory figures
 * (rss_peak_mb, the wasm heap) are then the process's so far, as in a `run` of several stages.
 */
export class StageChildPool {
  private readonly idle = new Set<ChildProcess>();

  constructor(private readonly opts: { backend?: string; verbose?: boolean } = {}) {}

  run(cacheDir: string, job: StageJobData): ChildHandle {
    const reused = [...this.idle].find((c) => c.connected);
    if (reused) this.idle.delete(reused);
    const child = reused ?? this.spawnChild();
    let running = true;
    const promise = new Promise<StageJobOutcome>((resolvePromise, reject) => {
      const done = () => {
        running = false;
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const onMessage = (m: ChildReply) => {
        done();
        if (m.ok && m.outcome) {
          this.idle.add(child);
          resolvePromise(m.outcome);
        } else {
          child.kill('SIGKILL');
          reject(new Error(m.error ?? 'stage job failed'));
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        done();
        reject(new Error(`stage job ${job.stage} ${job.fingerprint}: process ended (${signal ?? `exit code ${code}`}) before finishing`));
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send({ cacheDir, job, backend: this.opts.backend, quiet: !this.opts.verbose });
    });
    return { promise, kill: () => running && child.kill('SIGKILL') };
  }

  /** Ends the idle children: each exits when its IPC channel closes. */
  close(): void {
    for (const c of this.idle) if (c.connected) c.disconnect();
    this.idle.clear();
  }

  private spawnChild(): ChildProcess {
    // setpriv --pdeathsig (Linux): the kernel kills the child the moment this process dies, even while
    // the child computes without yielding (when the IPC 'disconnect' event could not run).
    const stdio: StdioOptions = ['ignore', 'ignore', 'inherit', 'ipc'];
    const child = HAS_SETPRIV ? spawn('setpriv', ['--pdeathsig', 'SIGKILL', process.execPath, childEntry()], { stdio }) : fork(childEntry(), [], { stdio });
    child.once('exit', () => this.idle.delete(child));
    return child;
  }
}
