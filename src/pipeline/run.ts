/**
 * Runs a pipeline: each stage writes into `<run>/<stage>/`, with a fingerprint of its settings, of
 * the contents of the files it reads by path (task, corpus and vocabulary files; `teacher.from`) and
 * of its inputs' fingerprints. A stage whose result.json carries the same fingerprint is skipped;
 * an interrupted stage resumes from its last periodic checkpoint; a changed setting changes that
 * stage's fingerprint and so those of every stage after it, which rerun.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describeBackend, selectBackend, type BackendInfo } from '../backend/select.js';
import { runFile, stageDir, taskRunDir } from '../run/layout.js';
import { writeTasksSummary } from '../report/tasks.js';
import { readResult, writeResult, type StageResult } from '../run/result.js';
import { sha256File, writeJsonAtomic } from '../util/fs.js';
import { TOOL_VERSION } from '../version.js';
import { createContext, type RunContext } from './context.js';
import { loadPipeline } from './load.js';
import { acquireRunLock } from './lock.js';
import { preflight } from './preflight.js';
import type { Pipeline } from './pipeline-schema.js';
import { cleanRunDir, prepareRunDir, removeStaleTempFiles, resolveRunDir, RUN_MARKER, RunDirError } from './run-dir.js';
import { replaceProblem, stopTracking, symlinkOnPath, trackWrites } from '../util/owned-dir.js';
import { SHARED_STAGES, STAGES, type StageName } from './stages/index.js';
import type { StageDefinition } from './stages/types.js';
import { restoreStage, storeStage } from './stage-cache.js';
import { recordOutputs, snapshotTopLevel, verifyOutputs } from './verify.js';

/** Which parts of the shared settings a stage's output depends on (they enter its fingerprint). */
function sharedInputs(p: Pipeline, stage: StageDefinition, settings: unknown, digests: FileDigests): unknown {
  const externalFiles = stage.externalFiles ? stage.externalFiles(settings) : null;
  // The corpus-subset vocabulary is built from the corpus and the task, so both matter everywhere then.
  const corpus = stage.data === 'corpus' || p.tokenizer.vocab === 'corpus-subset';
  const task = stage.data === 'task' || (p.tokenizer.vocab === 'corpus-subset' && !p.tasks);
  const files = dataFiles(p, corpus, task, digests);
  return {
    // Hashed under the name it had when only teacher.from had any, `teacherFrom`: renaming it would
    // change every fingerprint, and so rerun finished runs and miss the stage cache.
    teacherFrom: externalFiles,
    seed: p.seed,
    // Only when set, so that the fingerprints of pipelines without it stay as they were.
    ...(p.taskSeed !== undefined && p.taskSeed !== p.seed && stage.data === 'task' ? { taskSeed: p.taskSeed } : {}),
    tokenizer: p.tokenizer,
    corpus: corpus ? p.corpus : null,
    task: task ? taskData(p.task) : null,
    // Only when a user file is named, so that the fingerprints of the embedded data stay as they were.
    ...(Object.keys(files).length > 0 ? { dataFiles: files } : {}),
  };
}

/**
 * The sha256 of each file a run reads by path, once per run (the runner and the planners pass one
 * to every plan they make): path (resolved) -> digest, null when there is no such file.
 */
export type FileDigests = Map<string, string | null>;

function digestOf(digests: FileDigests, path: string): string | null {
  const key = resolve(path);
  if (!digests.has(key)) digests.set(key, existsSync(key) && statSync(key).isFile() ? sha256File(key) : null);
  return digests.get(key)!;
}

/**
 * The contents of the user files whose data a stage reads, by the field that names each
 * (`task.train`, `corpus.source`, `tokenizer.vocab`): the paths are in the settings, but an edited
 * file at the same path must rerun the stages that read it (and miss the stage cache).
 */
function dataFiles(p: Pipeline, corpus: boolean, task: boolean, digests: FileDigests): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const vocab = p.tokenizer.vocab;
  if (vocab !== 'corpus-subset' && vocab !== 'bert-base-uncased') out['tokenizer.vocab'] = digestOf(digests, vocab);
  if (corpus && p.corpus.source !== 'sotu') out['corpus.source'] = digestOf(digests, p.corpus.source);
  if (task && (p.task.kind === 'tsv' || p.task.kind === 'jsonl'))
    for (const split of ['train', 'dev', 'test'] as const) {
      const file = p.task[split];
      if (file !== undefined) out[`task.${split}`] = digestOf(digests, file);
    }
  return out;
}

/** A task's data settings: its step budgets are already in the stages' settings (withTaskSteps). */
function taskData(task: Pipeline['task']): Omit<Pipeline['task'], 'steps'> {
  const { steps: _budgets, ...data } = task;
  return data;
}

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

function stageSeed(seed: number, stage: string): number {
  return (seed * 1000003 + parseInt(hash(stage).slice(0, 6), 16)) >>> 0;
}

export interface PlannedStage {
  stage: StageName;
  def: StageDefinition;
  fingerprint: string;
  /** Fingerprints of the earlier stages this one reads. */
  inputs: Record<string, string>;
}

/**
 * Every configured stage's fingerprint, computed without running anything (the runner and the sweep
 * planner share it). `existing` gives the fingerprint of a stage the pipeline does not run but whose
 * output is already in the run directory `runDir`; `digests` holds the data files' digests computed
 * so far (pass one map to every plan of a run, so each file is read once).
 */
export function planStages(
  pipeline: Pipeline,
  existing: (stage: string) => string | undefined = () => undefined,
  runDir = 'the run directory',
  digests: FileDigests = new Map(),
): PlannedStage[] {
  const fingerprints = new Map<string, string>();
  const plan: PlannedStage[] = [];
  for (const def of (STAGES as readonly StageDefinition[]).filter((s) => pipeline.stages[s.name as StageName] !== undefined)) {
    const stage = def.name as StageName;
    const settings = pipeline.stages[stage];
    const optional = def.optionalInputs?.(settings) ?? [];
    const inputs: Record<string, string> = {};
    for (const dep of def.inputs) {
      const fp = fingerprints.get(dep) ?? existing(dep);
      if (fp) inputs[dep] = fp;
      else if (!optional.includes(dep)) {
        throw new Error(
          `stage '${stage}' needs the output of '${dep}', which this pipeline does not run and ${stageDir(runDir, dep)} does not hold; add '${dep}' to the pipeline's stages`,
        );
      }
    }
    // formatVersion only when declared, so that the fingerprints of the other stages stay as they were.
    const format = def.formatVersion === undefined ? {} : { format: def.formatVersion };
    const fingerprint = hash({ stage, settings, shared: sharedInputs(pipeline, def, settings, digests), inputs, tool: TOOL_VERSION, ...format });
    fingerprints.set(stage, fingerprint);
    plan.push({ stage, def, fingerprint, inputs });
  }
  return plan;
}

export interface RunOptions {
  pipelinePath: string;
  /**
   * The settings, already validated (`compress` builds them): then not read from pipelinePath,
   * which only names their origin in pipeline.json.
   */
  pipeline?: Pipeline;
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
  stages: Array<{
    stage: StageName;
    /** The task, in a multi-task run. */ task?: string;
    status: 'ran' | 'up to date' | 'from cache';
    seconds: number;
    result: StageResult;
  }>;
}

export async function runPipeline(opts: RunOptions): Promise<RunSummary> {
  const pipeline = opts.pipeline ?? loadPipeline(opts.pipelinePath, opts.sets ?? []).pipeline;
  const backend = await selectBackend(opts.backend ?? pipeline.backend);
  // What needs a file or the backend to check, before the run directory is touched (preflight.ts).
  preflight(pipeline, opts.pipelinePath, backend.name);
  // --- run directory: marker, lock, safe --fresh (run-dir.ts, lock.ts) ---
  const runDir = resolveRunDir(pipeline.name, opts.outDir, opts.fresh ?? false);
  const adopted = prepareRunDir(runDir);
  const ctx: RunContext = createContext(runDir, pipeline, backend, opts.quiet);
  if (adopted) ctx.log(adopted);
  const lock = acquireRunLock(runDir, ctx.log);
  // Every write into the run directory is checked and recorded in its manifest (util/owned-dir.ts).
  trackWrites(runDir, RUN_MARKER);
  try {
    removeStaleTempFiles(runDir);
    if (opts.fresh) {
      const kept = cleanRunDir(runDir);
      if (kept.length) ctx.log(`--fresh: kept ${kept.length} file${kept.length > 1 ? 's' : ''} not made by prune-once: ${kept.join(', ')}`);
    }
    const summary = await runStages(opts, pipeline, backend, runDir, ctx);
    // The settings of the last run that finished (a failed run leaves the previous ones); never over a file of the user's.
    const settings = runFile(runDir, 'pipeline');
    const problem = replaceProblem(settings);
    if (problem) ctx.log(`the run's settings are not recorded: ${problem}`);
    else writeJsonAtomic(settings, { source: opts.pipeline ? opts.pipelinePath : resolve(opts.pipelinePath), sets: opts.sets ?? [], pipeline });
    return summary;
  } finally {
    stopTracking(runDir);
    lock.release();
  }
  // --- end run directory ---
}

async function runStages(opts: RunOptions, pipeline: Pipeline, backend: BackendInfo, runDir: string, ctx: RunContext): Promise<RunSummary> {
  ctx.log(`prune-once ${TOOL_VERSION}: pipeline '${pipeline.name}' -> ${runDir}; ${describeBackend(backend)}`);
  const summary: RunSummary = { runDir, pipeline, backend, stages: [] };
  const redone = new Set<string>();
  const digests: FileDigests = new Map();
  if (!pipeline.tasks) {
    pipeline = { ...pipeline, stages: withTaskSteps(pipeline.stages, pipeline.task) };
    await runScope({ opts, pipeline, ctx, outDir: runDir, dirOf: (s) => stageDir(runDir, s), redone, digests }, summary);
    return summary;
  }
  // Several tasks: the shared stages (on the corpus) once, then each task's stages in its own
  // directory, reading the shared stages' outputs from the run directory.
  const scopes = taskScopes(pipeline);
  const fingerprints = new Map<string, string>();
  if (scopes.shared) {
    const stopped = await runScope(
      { opts, pipeline: scopes.shared, ctx, outDir: runDir, dirOf: (s) => stageDir(runDir, s), redone, fingerprints, digests },
      summary,
    );
    if (stopped) return summary;
  }
  for (const { task, pipeline: taskPipeline } of scopes.tasks) {
    const taskDir = taskRunDir(runDir, task);
    const link = symlinkOnPath(runDir, relative(runDir, taskDir));
    if (link)
      throw new RunDirError(`${join(runDir, link)} is a symlink; prune-once never writes through one: replace it with a folder, or choose another --out`);
    const adoptedTask = prepareRunDir(taskDir);
    if (adoptedTask) ctx.log(adoptedTask);
    trackWrites(taskDir, RUN_MARKER);
    const taskCtx = createContext(taskDir, taskPipeline, backend, opts.quiet, { tokenizer: () => ctx.tokenizer(), taskField: `tasks.${task}` });
    const dirOf = (s: string) => stageDir(SHARED_STAGES.has(s) ? runDir : taskDir, s);
    const stopped = await runScope({ opts, pipeline: taskPipeline, ctx: taskCtx, outDir: taskDir, dirOf, redone, fingerprints, digests, task }, summary);
    if (stopped) return summary;
  }
  // The table of tasks, once every task has its report.
  const names = Object.keys(pipeline.tasks);
  if (names.every((t) => existsSync(runFile(taskRunDir(runDir, t), 'reportJson')))) writeTasksSummary(runDir, names);
  return summary;
}

/** The stages with the task's own step budgets (`task.steps`) in place of the stages' `train.steps`. */
export function withTaskSteps(stages: Pipeline['stages'], task: Pipeline['task']): Pipeline['stages'] {
  const out = { ...stages };
  for (const [stage, steps] of Object.entries(task.steps ?? {}) as Array<['finetune-teacher' | 'transfer' | 'qat', number | undefined]>) {
    const s = out[stage];
    if (steps === undefined || !s?.train) continue;
    out[stage] = { ...s, train: { ...s.train, steps } } as never;
  }
  return out;
}

export interface TaskScopes {
  /** The shared stages as a pipeline of their own (null when the pipeline has none). */
  shared: Pipeline | null;
  /** Each task's stages as a single-task pipeline (`task` set, `tasks` unset), in the file's order. */
  tasks: Array<{ task: string; pipeline: Pipeline }>;
}

/** How a `tasks:` pipeline runs (the runner and planRun share it, so the sweep plans what a run does). */
export function taskScopes(pipeline: Pipeline): TaskScopes {
  const only = (keep: (stage: string) => boolean) => Object.fromEntries(Object.entries(pipeline.stages).filter(([k]) => keep(k))) as Pipeline['stages'];
  const sharedStages = only((s) => SHARED_STAGES.has(s));
  return {
    shared: Object.keys(sharedStages).length > 0 ? { ...pipeline, stages: sharedStages } : null,
    tasks: Object.entries(pipeline.tasks ?? {}).map(([task, settings]) => ({
      task,
      pipeline: {
        ...pipeline,
        task: settings,
        tasks: undefined,
        stages: withTaskSteps(
          only((s) => !SHARED_STAGES.has(s)),
          settings,
        ),
      },
    })),
  };
}

export interface PlannedRunStage extends PlannedStage {
  /** The task, for a task's stage of a `tasks:` pipeline. */
  task?: string;
}

/**
 * Every stage a run of `pipeline` in a fresh run directory would run, in order, with the
 * fingerprints runStages computes (tasks included): what a sweep's stage jobs must reproduce.
 */
export function planRun(pipeline: Pipeline, digests: FileDigests = new Map()): PlannedRunStage[] {
  if (!pipeline.tasks) return planStages({ ...pipeline, stages: withTaskSteps(pipeline.stages, pipeline.task) }, undefined, undefined, digests);
  const scopes = taskScopes(pipeline);
  const fingerprints = new Map<string, string>();
  const out: PlannedRunStage[] = [];
  const add = (stages: PlannedStage[], task?: string) => {
    for (const s of stages) {
      fingerprints.set(s.stage, s.fingerprint);
      out.push(task ? { ...s, task } : s);
    }
  };
  if (scopes.shared) add(planStages(scopes.shared, (dep) => fingerprints.get(dep), undefined, digests));
  for (const { task, pipeline: p } of scopes.tasks)
    add(
      planStages(p, (dep) => fingerprints.get(dep), undefined, digests),
      task,
    );
  return out;
}

interface Scope {
  opts: RunOptions;
  pipeline: Pipeline;
  ctx: RunContext;
  /** Where the scope's stage directories and top-level files are (the run, or a task's directory). */
  outDir: string;
  dirOf(stage: string): string;
  /** Stages redone in this run (shared across scopes: a redone teacher redoes every task). */
  redone: Set<string>;
  /** Fingerprints of the stages planned so far (a task's stages read the shared stages'). */
  fingerprints?: Map<string, string>;
  /** The run's data-file digests (each file is hashed once per run). */
  digests: FileDigests;
  task?: string;
}

/** Runs one scope's stages in order; true when `--until` stopped it. */
async function runScope(sc: Scope, summary: RunSummary): Promise<boolean> {
  const { opts, pipeline, ctx, outDir, dirOf, redone } = sc;
  const prefix = sc.task ? `${sc.task}/` : '';
  const existing = (dep: string) => sc.fingerprints?.get(dep) ?? readResult(dirOf(dep))?.fingerprint;
  for (const { stage, def, fingerprint } of planStages(pipeline, existing, outDir, sc.digests)) {
    sc.fingerprints?.set(stage, fingerprint);
    const name = `${prefix}${stage}`;
    const entry = (status: RunSummary['stages'][number]['status'], seconds: number, result: StageResult) =>
      summary.stages.push({ stage, ...(sc.task ? { task: sc.task } : {}), status, seconds, result });
    const settings = pipeline.stages[stage];
    const dir = dirOf(stage);
    const previous = readResult(dir);
    if (previous?.fingerprint === fingerprint) {
      // Reuse only what verifies (verify.ts), and nothing made from a stage redone in this run.
      const redoneInput = def.inputs.find((d) => redone.has(d));
      const problem = redoneInput ? null : verifyOutputs(outDir, previous.outputs);
      if (!redoneInput && !problem) {
        ctx.log(`${name}: up to date (fingerprint ${fingerprint}), skipped`);
        entry('up to date', 0, previous);
        if (stage === opts.until) return true;
        continue;
      }
      ctx.log(`${name}: ${redoneInput ? `its input '${redoneInput}' was redone` : problem}; redoing the stage`);
    } else if (previous) ctx.log(`${name}: settings, inputs or data files changed; rerunning`);
    // --- stage cache (issue 17): a stored output with this fingerprint replaces the computation ---
    const cached = opts.cacheDir ? restoreStage(opts.cacheDir, fingerprint, outDir, stage, ctx.log) : null;
    if (cached) {
      ctx.log(`${name}: restored from the cache ${opts.cacheDir} (fingerprint ${fingerprint})`);
      entry('from cache', 0, cached);
      redone.add(stage);
      if (stage === opts.until) return true;
      continue;
    }
    // --- end stage cache ---
    redone.add(stage);
    mkdirSync(dir, { recursive: true });
    ctx.log(`${name}: running`);
    const started = new Date();
    const topLevelBefore = snapshotTopLevel(outDir);
    const t0 = performance.now();
    const out = await def.run({
      ctx,
      dir,
      fingerprint,
      seed: stageSeed(def.data === 'task' ? (pipeline.taskSeed ?? pipeline.seed) : pipeline.seed, stage),
      settings,
      dirOf,
    });
    const seconds = (performance.now() - t0) / 1000;
    const missing = def.outputs(settings).filter((f) => !existsSync(join(outDir, f)));
    if (missing.length)
      throw new Error(`stage '${name}' finished without writing ${missing.join(', ')} in ${outDir} (its entry in the stage table says it writes them)`);
    const result: StageResult = {
      stage,
      fingerprint,
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      seconds,
      metrics: out.metrics,
      details: out.details,
      outputs: recordOutputs(outDir, dir, topLevelBefore),
    };
    writeResult(dir, result);
    if (opts.cacheDir) storeStage(opts.cacheDir, fingerprint, outDir, stage); // stage cache (issue 17)
    ctx.log(`${name}: done in ${seconds.toFixed(1)} s ${formatMetrics(out.metrics)}`);
    entry('ran', seconds, result);
    if (stage === opts.until) return true;
  }
  return false;
}

function formatMetrics(m: Record<string, number>): string {
  const keys = ['mlm_accuracy', 'dev_accuracy', 'sparsity', 'int8_ort_test_accuracy', 'int8_bytes'];
  const parts = keys.filter((k) => m[k] !== undefined).map((k) => `${k}=${Number.isInteger(m[k]) ? m[k] : m[k].toFixed(4)}`);
  return parts.length ? `(${parts.join(', ')})` : '';
}
