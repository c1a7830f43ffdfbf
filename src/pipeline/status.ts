/**
 * Where a run directory stands, stage by stage, read from the stage table and the run layout: which
 * stages the run's pipeline has, which are done (result.json), and which of their declared outputs
 * are on disk. `inspect` of a run directory shows it when there is no report yet. In a multi-task
 * run the shared stages are in the run directory and the others in each task's directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runFile, stageDir } from '../run/layout.js';
import type { RunScope } from '../run/locate.js';
import { readResult } from '../run/result.js';
import { SHARED_STAGES, STAGES } from './stages/index.js';
import type { StageDefinition } from './stages/types.js';

export interface StageStatus {
  stage: string;
  describe: string;
  /** In the run's pipeline (pipeline.json); false when it is not, or when pipeline.json is missing. */
  configured: boolean;
  done: boolean;
  fingerprint: string | null;
  seconds: number | null;
  /** Declared outputs (relative to the directory inspected: a task's shared stages are under ../../) and whether each exists. */
  outputs: Array<{ path: string; present: boolean }>;
}

/** Each task of a multi-task run: its directory and its own stages (the shared ones are the run's). */
export interface TaskStatus {
  task: string;
  dir: string;
  stages: StageStatus[];
  /** The task's report.json exists. */
  report: boolean;
}

export interface MultiTaskStatus {
  shared: StageStatus[];
  tasks: TaskStatus[];
}

function savedStages(runDir: string): Record<string, unknown> | null {
  try {
    const saved = JSON.parse(readFileSync(runFile(runDir, 'pipeline'), 'utf8')) as { pipeline?: { stages?: Record<string, unknown> } };
    return saved.pipeline?.stages ?? null;
  } catch {
    return null;
  }
}

function stageStatus(def: StageDefinition, stages: Record<string, unknown> | null, dir: string, shownFrom: string): StageStatus {
  const parsed = stages && stages[def.name] !== undefined ? def.schema.safeParse(stages[def.name]) : null;
  const result = readResult(stageDir(dir, def.name));
  const outputs = parsed?.success
    ? def.outputs(parsed.data).map((path) => ({ path: relative(shownFrom, join(dir, path)), present: existsSync(join(dir, path)) }))
    : [];
  return {
    stage: def.name,
    describe: def.describe,
    configured: parsed?.success ?? false,
    done: result !== null,
    fingerprint: result?.fingerprint ?? null,
    seconds: result?.seconds ?? null,
    outputs,
  };
}

/**
 * Every stage of a single-task run (a path), or of one task of a multi-task run (its scope: the
 * shared stages are read from the run directory).
 */
export function runStatus(target: string | RunScope): StageStatus[] {
  const scope = typeof target === 'string' ? { dir: target, runDir: target } : target;
  const stages = savedStages(scope.runDir);
  const inTask = scope.task !== undefined;
  return (STAGES as readonly StageDefinition[]).map((def) =>
    stageStatus(def, stages, inTask && SHARED_STAGES.has(def.name) ? scope.runDir : scope.dir, scope.dir),
  );
}

/** A multi-task run: its shared stages, then each task's own stages. */
export function multiTaskStatus(runDir: string, tasks: readonly string[], taskDir: (task: string) => string): MultiTaskStatus {
  const stages = savedStages(runDir);
  const defs = STAGES as readonly StageDefinition[];
  return {
    shared: defs.filter((d) => SHARED_STAGES.has(d.name)).map((d) => stageStatus(d, stages, runDir, runDir)),
    tasks: tasks.map((task) => {
      const dir = taskDir(task);
      return {
        task,
        dir,
        stages: defs.filter((d) => !SHARED_STAGES.has(d.name)).map((d) => stageStatus(d, stages, dir, runDir)),
        report: existsSync(runFile(dir, 'reportJson')),
      };
    }),
  };
}

export function formatRunStatus(runDir: string, status: StageStatus[]): string {
  const lines = [`run ${runDir}`];
  for (const s of status) lines.push(...formatStage(s));
  return lines.join('\n');
}

function formatStage(s: StageStatus, indent = '  '): string[] {
  const state = s.done ? `done in ${s.seconds?.toFixed(1)} s (fingerprint ${s.fingerprint})` : s.configured ? 'not done' : 'not in this pipeline';
  const lines = [`${indent}${s.stage.padEnd(17)}${state}: ${s.describe}`];
  for (const o of s.outputs) lines.push(`${indent}  ${o.present ? '  ' : '! '}${o.path}${o.present ? '' : ' (missing)'}`);
  return lines;
}

/** The shared stages in full, then one line per task: its stages done, or the first one that is not. */
export function formatMultiTaskStatus(runDir: string, status: MultiTaskStatus): string {
  const lines = [
    `run ${runDir}: a multi-task run, ${status.tasks.length} task${status.tasks.length === 1 ? '' : 's'} (${status.tasks.map((t) => t.task).join(', ')})`,
  ];
  lines.push('shared stages (in the run directory):');
  for (const s of status.shared) lines.push(...formatStage(s));
  lines.push('tasks (each in tasks/<task>/, laid out like a single-task run):');
  const width = Math.max(...status.tasks.map((t) => t.task.length)) + 2;
  for (const t of status.tasks) {
    const configured = t.stages.filter((s) => s.configured);
    const done = configured.filter((s) => s.done);
    const next = configured.find((s) => !s.done);
    const where = relative(runDir, t.dir);
    const state = next
      ? `${done.length}/${configured.length} stages done, next: ${next.stage}`
      : `${done.length}/${configured.length} stages done${t.report ? `; report ${join(where, 'report.md')}` : ''}`;
    lines.push(`  ${t.task.padEnd(width)}${state}`);
  }
  return lines.join('\n');
}
