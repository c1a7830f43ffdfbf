/**
 * What a path given to a command is, in the run layout (./layout.ts): a single-task run, a
 * multi-task run (with its tasks), one task's directory of a multi-task run (knowing its run, which
 * holds pipeline.json, vocab.txt and the shared stages), a stage directory, a checkpoint, an ONNX
 * file, or none of these. Every command that takes a run resolves its input here, and `--task` is
 * applied here, so they all treat a multi-task run the same way.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { runFile, STAGE_FILES, taskRunDir, TASKS_DIR } from './layout.js';

/**
 * A directory laid out like a single-task run (its task stages, ONNX files and report): a
 * single-task run itself, or one task's `tasks/<task>/` in a multi-task run.
 */
export interface RunScope {
  dir: string;
  /** The run directory: pipeline.json, vocab.txt and, in a multi-task run, the shared stages. `dir` itself for a single-task run. */
  runDir: string;
  /** The task's name, in a multi-task run. */
  task?: string;
}

export type LocatedKind = 'run' | 'multi-task-run' | 'task' | 'stage' | 'checkpoint' | 'onnx' | 'other';

export interface Located {
  /** The path, resolved. */
  path: string;
  kind: LocatedKind;
  /** The run the path is in or is, when it is in one. `tasks` is null for a single-task run. */
  run: { dir: string; tasks: string[] | null } | null;
  /** The single-task run or task directory the path is in or is; null outside one (and for a multi-task run's top and shared stages). */
  scope: RunScope | null;
  /** A stage directory's or checkpoint's stage. */
  stage?: string;
}

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();

/** A run directory: the runner wrote its pipeline.json (at the end of its first run), or its table of tasks. */
function isRunDir(dir: string): boolean {
  return existsSync(runFile(dir, 'pipeline')) || existsSync(runFile(dir, 'tasksJson'));
}

/**
 * A run's tasks, in the pipeline's order: from its pipeline.json (`tasks:`), else tasks.json, else
 * the folders under tasks/. Null for a single-task run.
 */
export function runTasks(runDir: string): string[] | null {
  try {
    const saved = JSON.parse(readFileSync(runFile(runDir, 'pipeline'), 'utf8')) as { pipeline?: { tasks?: Record<string, unknown> } };
    if (saved.pipeline?.tasks) return Object.keys(saved.pipeline.tasks);
  } catch {
    /* unreadable or absent: the other records will do */
  }
  try {
    const table = JSON.parse(readFileSync(runFile(runDir, 'tasksJson'), 'utf8')) as { tasks?: Array<{ task?: unknown }> };
    const names = (table.tasks ?? []).map((t) => t.task).filter((t): t is string => typeof t === 'string');
    if (names.length) return names;
  } catch {
    /* idem */
  }
  const folder = join(runDir, TASKS_DIR);
  if (!isDir(folder)) return null;
  const names = readdirSync(folder)
    .filter((t) => isDir(join(folder, t)))
    .sort();
  return names.length ? names : null;
}

/** The run directory whose tasks/<task>/ `dir` is, if it is one. */
function parentRunOfTask(dir: string): string | null {
  const parent = dirname(dir);
  if (basename(parent) !== TASKS_DIR) return null;
  const run = dirname(parent);
  return isRunDir(run) && (runTasks(run) ?? []).includes(basename(dir)) ? run : null;
}

/** The run, task or neither that a directory is. */
function locateDir(dir: string): Pick<Located, 'kind' | 'run' | 'scope'> {
  const parentRun = parentRunOfTask(dir);
  if (parentRun) return { kind: 'task', run: { dir: parentRun, tasks: runTasks(parentRun) }, scope: { dir, runDir: parentRun, task: basename(dir) } };
  if (!isRunDir(dir)) return { kind: 'other', run: null, scope: null };
  const tasks = runTasks(dir);
  return tasks ? { kind: 'multi-task-run', run: { dir, tasks }, scope: null } : { kind: 'run', run: { dir, tasks: null }, scope: { dir, runDir: dir } };
}

/** What `path` is (see the module comment). It must exist; `what` names what was expected, for the error. */
export function locate(path: string, what?: string): Located {
  const p = resolve(path);
  if (!existsSync(p)) throw new Error(missingMessage(path, what));
  if (statSync(p).isDirectory()) {
    const here = locateDir(p);
    if (here.kind !== 'other') return { path: p, ...here };
    // A stage's directory: inside a run or task directory, holding the stage's files.
    const holder = locateDir(dirname(p));
    const stageLike = Object.values(STAGE_FILES).some((f) => existsSync(join(p, f)));
    if (holder.kind !== 'other' && stageLike) return { path: p, kind: 'stage', run: holder.run, scope: holder.scope, stage: basename(p) };
    return { path: p, kind: 'other', run: null, scope: null };
  }
  const holder = locateDir(dirname(p));
  if (p.endsWith('.onnx')) return { path: p, kind: 'onnx', run: holder.run, scope: holder.scope };
  if (p.endsWith('.ckpt')) {
    const stageHolder = locateDir(dirname(dirname(p)));
    if (stageHolder.kind === 'other') return { path: p, kind: 'checkpoint', run: null, scope: null };
    return { path: p, kind: 'checkpoint', run: stageHolder.run, scope: stageHolder.scope, stage: basename(dirname(p)) };
  }
  return { path: p, kind: 'other', run: holder.run, scope: holder.scope };
}

/** `<run>/tasks/spam, <run>/tasks/era` as a user would type them. */
const taskPaths = (given: string, tasks: readonly string[], file = ''): string => tasks.map((t) => join(given, TASKS_DIR, t, file)).join(', ');

/**
 * The error for a path that does not exist. When it would be in a multi-task run's top directory
 * but each task has its own (model.int8.onnx, qat/model.ckpt, report.json...), it names them;
 * otherwise it says no such `what`, and gives `fix` when there is one.
 */
export function missingMessage(path: string, what = 'file or directory', fix?: string): string {
  const p = resolve(path);
  for (let dir = dirname(p); dir !== dirname(dir); dir = dirname(dir)) {
    if (!existsSync(dir)) continue;
    const tasks = isRunDir(dir) ? runTasks(dir) : null;
    if (!tasks) break;
    const rel = relative(dir, p);
    const inTask = tasks.filter((t) => existsSync(join(taskRunDir(dir, t), rel)));
    if (!inTask.length) break;
    const given = join(path, ...rel.split(/[\\/]/).map(() => '..'));
    return `${path}: no such ${what}; ${given} is a multi-task run, whose tasks each have their own ${rel}: ${taskPaths(given, inTask, rel)} (or give the run directory with --task ${inTask[0]})`;
  }
  return `${path}: no such ${what}${fix ? `; ${fix}` : ''}`;
}

/** The fix shown when a command needs one task of a multi-task run. */
export function chooseTaskMessage(given: string, tasks: readonly string[], command: string): string {
  return `${given} is a multi-task run with ${tasks.length} task${tasks.length === 1 ? '' : 's'} (${tasks.join(', ')}), each in its own directory; ${command} acts on one task: add --task NAME (e.g. --task ${tasks[0]}), or give the task's directory (${taskPaths(given, tasks.slice(0, 1))})`;
}

/**
 * The single-task run or task directory a command acts on: `path` located, then `--task` applied.
 * A multi-task run needs `task` (the error lists its tasks); `task` on anything but a multi-task run
 * or the same task's directory is refused. Null when `path` is not in a run (a file of its own).
 * `command` names what the user ran and `what` what it expects, for the messages.
 */
export function resolveScope(path: string, task: string | undefined, command: string, what?: string): { located: Located; scope: RunScope | null } {
  const located = locate(path, what);
  if (located.kind === 'multi-task-run') {
    const tasks = located.run!.tasks!;
    if (task === undefined) throw new Error(chooseTaskMessage(path, tasks, command));
    if (!tasks.includes(task)) throw new Error(`--task ${task}: ${path} has no task '${task}'; its tasks are ${tasks.join(', ')}`);
    const scope = { dir: taskRunDir(located.path, task), runDir: located.path, task };
    if (!isDir(scope.dir)) throw new Error(`--task ${task}: ${scope.dir} not found; the run has not reached task '${task}' yet (run the pipeline)`);
    return { located, scope };
  }
  if (task !== undefined) {
    if (located.kind === 'task' || ((located.kind === 'stage' || located.kind === 'checkpoint' || located.kind === 'onnx') && located.scope?.task)) {
      if (located.scope!.task !== task)
        throw new Error(
          `--task ${task}: ${path} belongs to task '${located.scope!.task}' of ${located.run!.dir}; drop --task, or give the run directory with --task ${task}`,
        );
    } else if (located.kind === 'run') {
      throw new Error(`--task ${task}: ${path} is a single-task run (it has no ${TASKS_DIR}/ folder); drop --task`);
    } else {
      throw new Error(
        `--task ${task}: --task chooses a task of a multi-task run directory, and ${path} is not one; give the run directory with --task, or drop --task`,
      );
    }
  }
  return { located, scope: located.scope };
}
