/**
 * `prune-once inspect`: a run directory (its report, or, before the report stage has run, where each
 * stage of the stage table stands), a multi-task run (its shared stages, each task's state and the
 * table of tasks), one task of it, a report.json, or any ONNX file, as tables or JSON.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { REPORTED } from './stages/report.js';
import { formatBaselineRatios, formatInspection, inspectOnnxFile, sizeRatios } from '../onnx/index.js';
import { formatMultiTaskStatus, formatRunStatus, multiTaskStatus, runStatus } from './status.js';
import { renderMarkdown } from '../report/markdown.js';
import { readReport } from '../report/read.js';
import { renderTasksMarkdown, type TasksSummary } from '../report/tasks.js';
import { RUN_FILES, runFile, taskRunDir } from '../run/layout.js';
import { locate, missingMessage, resolveScope, type RunScope } from '../run/locate.js';

export interface InspectOptions {
  /** A dense model file (e.g. model.teacher.fp32.onnx) to give the file's size ratios against. */
  baseline?: string;
  /** In a multi-task run, the task to inspect (as if its directory were given). */
  task?: string;
}

/** What `inspectPath` shows, and whether it found no error (an ONNX file whose checks failed: the CLI exits 1). */
export interface Inspection {
  text: string;
  ok: boolean;
}

/** `opts`: a baseline path (the older signature), or the options. */
export function inspectPath(path: string, json: boolean, opts: string | InspectOptions = {}): Inspection {
  const { baseline, task } = typeof opts === 'string' ? { baseline: opts } : opts;
  if (!existsSync(path)) throw new Error(missingMessage(path));
  if (statSync(path).isDirectory()) {
    const located = locate(path);
    if (located.kind === 'multi-task-run' && task === undefined) return { text: inspectMultiTaskRun(path, located.run!.tasks!, json), ok: true };
    const { scope } = resolveScope(path, task, 'inspect');
    if (scope && (located.kind === 'run' || located.kind === 'task' || located.kind === 'multi-task-run'))
      return inspectScope(located.kind === 'multi-task-run' ? taskRunDir(path, scope.task!) : path, scope, json);
    throw new Error(`${path}: not a run directory (no ${RUN_FILES.pipeline}); give a run directory, a report.json or an .onnx file`);
  }
  // --task on a file: only to say it belongs to another task (or to no multi-task run).
  if (task !== undefined) resolveScope(path, task, 'inspect');
  if (path.endsWith('.json')) {
    const r = readReport(path);
    return { text: json ? JSON.stringify(r, null, 2) : renderMarkdown(r), ok: true };
  }
  const ins = inspectOnnxFile(path, true);
  let text = json ? '' : formatInspection(ins);
  let ratios: ReturnType<typeof sizeRatios> | undefined;
  if (baseline) {
    const base = inspectOnnxFile(baseline, true);
    ratios = sizeRatios({ sizes: base.sizes! }, { sizes: ins.sizes!, parts: ins.parts }, 0);
    text += `\n${formatBaselineRatios(baseline, ratios)}`;
  }
  return {
    text: json
      ? JSON.stringify(ratios ? { ...ins, baseline: { path: baseline, raw: ratios.raw, gzip: ratios.gzip, brotli: ratios.brotli } } : ins, null, 2)
      : text,
    ok: ins.errors.length === 0,
  };
}

/** A single-task run or one task: its report, or where its stages stand. */
function inspectScope(shown: string, scope: RunScope, json: boolean): Inspection {
  const report = runFile(scope.dir, 'reportJson');
  if (existsSync(report)) return inspectPath(report, json);
  const status = runStatus(scope);
  if (json)
    return {
      text: JSON.stringify({ runDir: shown, ...(scope.task !== undefined ? { task: scope.task } : {}), report: null, stages: status }, null, 2),
      ok: true,
    };
  const text = `${formatRunStatus(shown, status)}\nno ${RUN_FILES.reportJson} yet: the ${scope.task === undefined ? "run's" : `task's`} report stage has not finished (run the pipeline), or inspect one of its .onnx files`;
  return { text, ok: true };
}

/** A multi-task run: the shared stages, each task's state, and the table of tasks (tasks.md) once every task has its report. */
function inspectMultiTaskRun(runDir: string, tasks: string[], json: boolean): string {
  const status = multiTaskStatus(runDir, tasks, (t) => taskRunDir(runDir, t));
  const tablePath = runFile(runDir, 'tasksJson');
  const table = existsSync(tablePath) ? (JSON.parse(readFileSync(tablePath, 'utf8')) as TasksSummary) : null;
  if (json) return JSON.stringify({ runDir, tasks, shared: status.shared, taskStatus: status.tasks, table }, null, 2);
  const tail = table
    ? renderTasksMarkdown(table)
    : `no ${RUN_FILES.tasksJson} yet: the table of tasks is written once every task has its report (run the pipeline)`;
  return `${formatMultiTaskStatus(runDir, status)}\none task's report: prune-once inspect ${runDir} --task ${tasks[0]}\n\n${tail}`;
}

/**
 * `inspect --html`: writes report.html beside the report.json of a run, of one task (`task`), or of
 * every task of a multi-task run that has its report. Returns the files written.
 */
export async function writeHtmlReports(path: string, task?: string): Promise<string[]> {
  if (!existsSync(path)) throw new Error(missingMessage(path));
  if (!statSync(path).isDirectory()) {
    if (task !== undefined) resolveScope(path, task, 'inspect --html');
    return [await writeHtmlReportFor(path)];
  }
  const located = locate(path);
  if (located.kind === 'multi-task-run' && task === undefined) {
    const dirs = located.run!.tasks!.map((t) => taskRunDir(path, t)).filter((d) => existsSync(runFile(d, 'reportJson')));
    if (!dirs.length) throw new Error(`${path}: none of this multi-task run's tasks has its ${RUN_FILES.reportJson} yet; run the pipeline to the end first`);
    const written: string[] = [];
    for (const d of dirs) written.push(await writeHtmlReportFor(d));
    return written;
  }
  const { scope } = resolveScope(path, task, 'inspect --html');
  return [await writeHtmlReportFor(scope?.dir ?? path)];
}

/** report.html (and report.md) again beside a run's (or a task's) report.json, in the stage table's order. */
async function writeHtmlReportFor(target: string): Promise<string> {
  const runDir = statSync(target).isDirectory() ? target : basename(target) === RUN_FILES.reportJson ? dirname(target) : null;
  if (!runDir) throw new Error(`${target}: --html needs a run directory or its report.json, not another file`);
  // Vega is heavy: loaded only when a page is written.
  const { rewriteReportFiles } = await import('../report/write.js');
  return rewriteReportFiles(runDir, REPORTED);
}
