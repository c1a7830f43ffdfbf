/**
 * Runs a pipeline: each stage writes into `<run>/<stage>/`, with a fingerprint of its settings and
 * of its inputs' fingerprints. A stage whose result.json carries the same fingerprint is skipped;
 * an interrupted stage resumes from its last periodic checkpoint; a changed setting changes that
 * stage's fingerprint and so those of every stage after it, which rerun.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describeBackend, selectBackend, type BackendInfo } from '../backend/select.js';
import { writeJsonAtomic } from '../util/fs.js';
import { TOOL_VERSION } from '../version.js';
import { createContext, type RunContext } from './context.js';
import { loadPipeline } from './load.js';
import { acquireRunLock } from './lock.js';
import { cleanRunDir, prepareRunDir, removeStaleTempFiles, resolveRunDir, writeRunMarker } from './run-dir.js';
import { recordOutputs, snapshotTopLevel, verifyOutputs } from './verify.js';
import type { Pipeline, StageName } from './schema.js';
import { STAGE_ORDER } from './schema.js';
import { readResult, writeResult, type StageResult } from './stage-io.js';
import { runExport } from './stages/export.js';
import { runFinetuneTeacher, runTransfer } from './stages/finetune.js';
import { runPruneDistill } from './stages/prune-distill.js';
import { runQat } from './stages/qat.js';
import { runTeacher } from './stages/teacher.js';
import type { StageOutput, StageRun } from './stages/types.js';
import { runReport } from '../report/stage.js';
import { restoreStage, storeStage } from './stage-cache.js';

/** What each stage reads from earlier stages. */
export const STAGE_INPUTS: Record<StageName, StageName[]> = {
  teacher: [],
  'prune-distill': ['teacher'],
  'finetune-teacher': ['teacher'],
  transfer: ['prune-distill', 'finetune-teacher'],
  qat: ['transfer', 'finetune-teacher'],
  export: ['transfer', 'qat'],
  report: ['teacher', 'prune-distill', 'finetune-teacher', 'transfer', 'qat', 'export'],
};

/**
 * Identity of an imported teacher (`teacher.from`): size and modification time of the checkpoint,
 * or of each file of a Hugging Face directory, so replacing the files reruns the stage.
 */
function fromIdentity(from: string | undefined): unknown {
  if (!from || !existsSync(from)) return null;
  const st = statSync(from);
  const files = st.isDirectory() ? readdirSync(from).sort().map((f) => join(from, f)) : [from];
  return files.map((f) => {
    const s = statSync(f);
    return [f, s.size, s.mtimeMs];
  });
}

/** Which parts of the shared settings each stage's output depends on. */
function sharedInputs(p: Pipeline, stage: StageName): unknown {
  const usesCorpus = stage === 'teacher' || stage === 'prune-distill';
  const usesTask = !usesCorpus;
  return {
    teacherFrom: stage === 'teacher' ? fromIdentity(p.stages.teacher?.from) : null,
    seed: p.seed,
    tokenizer: p.tokenizer,
    // The corpus-subset vocabulary is built from the corpus and the task, so both matter everywhere then.
    corpus: usesCorpus || p.tokenizer.vocab === 'corpus-subset' ? p.corpus : null,
    task: usesTask || p.tokenizer.vocab === 'corpus-subset' ? p.task : null,
  };
}

const STAGE_FNS: { [S in StageName]: (run: StageRun<S>) => Promise<StageOutput> } = {
  teacher: runTeacher,
  'prune-distill': runPruneDistill,
  'finetune-teacher': runFinetuneTeacher,
  transfer: runTransfer,
  qat: runQat,
  export: runExport,
  report: runReport,
};

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

function stageSeed(seed: number, stage: string): number {
  return (seed * 1000003 + parseInt(hash(stage).slice(0, 6), 16)) >>> 0;
}

export interface PlannedStage {
  stage: StageName;
  fingerprint: string;
  /** Fingerprints of the earlier stages this one reads. */
  inputs: Record<string, string>;
}

/**
 * Every configured stage's fingerprint, computed without running anything (the runner and the sweep
 * planner share it). `existing` gives the fingerprint of a stage the pipeline does not run but whose
 * output is already in the run directory `runDir`.
 */
export function planStages(pipeline: Pipeline, existing: (stage: StageName) => string | undefined = () => undefined, runDir = 'the run directory'): PlannedStage[] {
  const fingerprints = new Map<StageName, string>();
  const plan: PlannedStage[] = [];
  for (const stage of STAGE_ORDER.filter((s) => pipeline.stages[s] !== undefined)) {
    const inputs: Record<string, string> = {};
    for (const dep of STAGE_INPUTS[stage]) {
      const fp = fingerprints.get(dep) ?? existing(dep);
      if (fp) inputs[dep] = fp;
      else if (stage !== 'report' && !(stage === 'export' && dep === 'qat' && !pipeline.stages.export!.formats.includes('int8'))) {
        throw new Error(`stage '${stage}' needs the output of '${dep}', which this pipeline does not run and ${join(runDir, dep)} does not hold; add '${dep}' to the pipeline's stages`);
      }
    }
    const fingerprint = hash({ stage, settings: pipeline.stages[stage], shared: sharedInputs(pipeline, stage), inputs, tool: TOOL_VERSION });
    fingerprints.set(stage, fingerprint);
    plan.push({ stage, fingerprint, inputs });
  }
  return plan;
}

export interface RunOptions {
  pipelinePath: string;
  outDir?: string;
  sets?: string[];
  fresh?: boolean;
  backend?: string;
  quiet?: boolean;
  /** Run only up to and including this stage. */
  until?: StageName;
  /** Shared stage cache (issue 17): reuse stored stage outputs, store the ones computed here. */
  cacheDir?: string;
}

export interface RunSummary {
  runDir: string;
  pipeline: Pipeline;
  backend: BackendInfo;
  stages: Array<{ stage: StageName; status: 'ran' | 'up to date' | 'from cache'; seconds: number; result: StageResult }>;
}

export async function runPipeline(opts: RunOptions): Promise<RunSummary> {
  const { pipeline } = loadPipeline(opts.pipelinePath, opts.sets ?? []);
  const backend = await selectBackend(opts.backend ?? pipeline.backend);
  // --- run directory: marker, lock, safe --fresh (run-dir.ts, lock.ts) ---
  const runDir = resolveRunDir(pipeline.name, opts.outDir, opts.fresh ?? false);
  prepareRunDir(runDir, opts.fresh ?? false);
  const ctx: RunContext = createContext(runDir, pipeline, backend, opts.quiet);
  const lock = acquireRunLock(runDir, ctx.log);
  try {
    removeStaleTempFiles(runDir);
    if (opts.fresh) {
      const kept = cleanRunDir(runDir);
      writeRunMarker(runDir);
      if (kept.length) ctx.log(`--fresh: kept ${kept.length} file${kept.length > 1 ? 's' : ''} not made by prune-once: ${kept.join(', ')}`);
    }
    const summary = await runStages(opts, pipeline, backend, runDir, ctx);
    // The settings of the last run that finished (a failed run leaves the previous ones).
    writeJsonAtomic(join(runDir, 'pipeline.json'), { source: resolve(opts.pipelinePath), sets: opts.sets ?? [], pipeline });
    return summary;
  } finally {
    lock.release();
  }
  // --- end run directory ---
}

async function runStages(opts: RunOptions, pipeline: Pipeline, backend: BackendInfo, runDir: string, ctx: RunContext): Promise<RunSummary> {
  ctx.log(`prune-once ${TOOL_VERSION}: pipeline '${pipeline.name}' -> ${runDir}; ${describeBackend(backend)}`);
  const redone = new Set<StageName>();

  const dirOf = (s: StageName) => join(runDir, s);
  const summary: RunSummary = { runDir, pipeline, backend, stages: [] };

  for (const { stage, fingerprint } of planStages(pipeline, (dep) => readResult(dirOf(dep))?.fingerprint, runDir)) {
    const settings = pipeline.stages[stage];
    const dir = dirOf(stage);
    const previous = readResult(dir);
    if (previous?.fingerprint === fingerprint) {
      // Reuse only what verifies (verify.ts), and nothing made from a stage redone in this run.
      const redoneInput = STAGE_INPUTS[stage].find((d) => redone.has(d));
      const problem = redoneInput ? null : verifyOutputs(runDir, previous.outputs);
      if (!redoneInput && !problem) {
        ctx.log(`${stage}: up to date (fingerprint ${fingerprint}), skipped`);
        summary.stages.push({ stage, status: 'up to date', seconds: 0, result: previous });
        if (stage === opts.until) break;
        continue;
      }
      ctx.log(`${stage}: ${redoneInput ? `its input '${redoneInput}' was redone` : problem}; redoing the stage`);
    } else if (previous) ctx.log(`${stage}: settings or inputs changed; rerunning`);
    // --- stage cache (issue 17): a stored output with this fingerprint replaces the computation ---
    const cached = opts.cacheDir ? restoreStage(opts.cacheDir, fingerprint, runDir, stage) : null;
    if (cached) {
      ctx.log(`${stage}: restored from the cache ${opts.cacheDir} (fingerprint ${fingerprint})`);
      summary.stages.push({ stage, status: 'from cache', seconds: 0, result: cached });
      redone.add(stage);
      if (stage === opts.until) break;
      continue;
    }
    // --- end stage cache ---
    redone.add(stage);
    mkdirSync(dir, { recursive: true });
    ctx.log(`${stage}: running`);
    const started = new Date();
    const topLevelBefore = snapshotTopLevel(runDir);
    const t0 = performance.now();
    const fn = STAGE_FNS[stage] as (run: StageRun<typeof stage>) => Promise<StageOutput>;
    const out = await fn({ ctx, dir, fingerprint, seed: stageSeed(pipeline.seed, stage), settings: settings as never, dirOf });
    const seconds = (performance.now() - t0) / 1000;
    const result: StageResult = { stage, fingerprint, startedAt: started.toISOString(), finishedAt: new Date().toISOString(), seconds, metrics: out.metrics, details: out.details, outputs: recordOutputs(runDir, dir, topLevelBefore) };
    writeResult(dir, result);
    if (opts.cacheDir) storeStage(opts.cacheDir, fingerprint, runDir, stage); // stage cache (issue 17)
    ctx.log(`${stage}: done in ${seconds.toFixed(1)} s ${formatMetrics(out.metrics)}`);
    summary.stages.push({ stage, status: 'ran', seconds, result });
    if (stage === opts.until) break;
  }
  return summary;
}

function formatMetrics(m: Record<string, number>): string {
  const keys = ['mlm_accuracy', 'test_accuracy', 'dev_accuracy', 'sparsity', 'int8_ort_test_accuracy', 'int8_bytes'];
  const parts = keys.filter((k) => m[k] !== undefined).map((k) => `${k}=${Number.isInteger(m[k]) ? m[k] : m[k].toFixed(4)}`);
  return parts.length ? `(${parts.join(', ')})` : '';
}
