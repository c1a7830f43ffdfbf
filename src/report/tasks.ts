/**
 * A multi-task run's accuracy table, the paper's table: one row per task, with what each model
 * gets on the task's test split beside the two baselines it must beat. Every figure is read from
 * the task's report.json and its finetune-teacher result (baselines), so it recomputes from them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readResult } from '../run/result.js';
import { runFile, stageDir, taskRunDir } from '../run/layout.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { pctWithInterval, ptsWithInterval } from './markdown.js';
import { PRUNING_PATHS, type Report } from './schema.js';

export interface TaskRow {
  task: string;
  /** Where its model was pruned (the report's path.description); null for reports without it. */
  path: string | null;
  description: string;
  examples: number;
  majority: number | null;
  naiveBayes: number | null;
  /** The dense teacher's file in ONNX Runtime (the report's accuracy.teacherOrt). */
  teacherOrt: number | null;
  fp32Ort: number | null;
  int8Ort: number | null;
  /** 95% group-bootstrap intervals of teacherOrt, fp32Ort and int8Ort (the report's accuracy.intervals). */
  intervals?: Record<string, [number, number]>;
  /** int8 - dense teacher in ONNX Runtime, points, with its paired interval (the report's accuracy.int8MinusTeacherOrt). */
  int8MinusTeacherOrt?: { points: number; interval: [number, number] };
  int8Bytes: number | null;
  /** The dense teacher's file over the int8 file, after brotli (the report's teacher_file_brotli). */
  teacherOverInt8Brotli: number | null;
}

export interface TasksSummary {
  schema: 'prune-once/tasks';
  version: 2;
  split: 'test';
  tasks: TaskRow[];
}

export function tasksSummary(runDir: string, tasks: readonly string[]): TasksSummary {
  const rows = tasks.map((task): TaskRow => {
    const dir = taskRunDir(runDir, task);
    const reportPath = runFile(dir, 'reportJson');
    if (!existsSync(reportPath)) throw new Error(`${reportPath} not found: task '${task}' has no report yet (run the pipeline to its report stage)`);
    const r = JSON.parse(readFileSync(reportPath, 'utf8')) as Report;
    const ft = readResult(stageDir(dir, 'finetune-teacher'))?.metrics ?? {};
    return {
      task,
      path: r.path?.description ?? null,
      description: r.accuracy.task,
      examples: r.accuracy.examples,
      majority: ft.baseline_majority_test_accuracy ?? null,
      naiveBayes: ft.baseline_naive_bayes_test_accuracy ?? null,
      teacherOrt: r.accuracy.teacherOrt,
      fp32Ort: r.accuracy.fp32Ort,
      int8Ort: r.accuracy.int8Ort,
      ...(r.accuracy.intervals ? { intervals: r.accuracy.intervals } : {}),
      ...(r.accuracy.int8MinusTeacherOrt ? { int8MinusTeacherOrt: r.accuracy.int8MinusTeacherOrt } : {}),
      int8Bytes: r.files.int8.bytes,
      teacherOverInt8Brotli: r.ratios.teacher_file_brotli?.value ?? null,
    };
  });
  return { schema: 'prune-once/tasks', version: 2, split: 'test', tasks: rows };
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(2)}%`);
/** a - b in percentage points, signed. */
const pts = (a: number | null, b: number | null) => (a === null || b === null ? 'n/a' : `${a >= b ? '+' : ''}${(100 * (a - b)).toFixed(2)}`);

export function renderTasksMarkdown(s: TasksSummary): string {
  const lines = [
    s.tasks.every((t) => t.path === PRUNING_PATHS.downstream)
      ? '# Several tasks, each model pruned during its own fine-tuning'
      : '# One sparse pre-trained model, several tasks',
    '',
    'Test-split accuracy per task. Baselines on the same splits and WordPiece ids: the majority class',
    'of the training split, and multinomial naive Bayes over the word pieces. Every model is measured',
    'once, by the export stage, in ONNX Runtime on the file it ships as. Points: the dense teacher over',
    'the majority class, and the int8 model against the dense teacher. In brackets: 95% bootstrap',
    'intervals over the test split resampled by group, and the paired interval of int8 - teacher',
    '(docs/guide.md, "How to read the intervals").',
    '',
    '| task | path | test examples | majority class | naive Bayes | dense teacher | teacher - majority (points) | sparse fp32 | sparse int8 | int8 - teacher, paired (points) | int8 file | teacher file / int8 file (brotli) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...s.tasks.map(
      (t) =>
        `| ${t.task} | ${t.path ?? 'n/a'} | ${t.examples} | ${pct(t.majority)} | ${pct(t.naiveBayes)} | ${pctWithInterval(t.teacherOrt, t.intervals?.teacherOrt)} | ${pts(t.teacherOrt, t.majority)} | ${pctWithInterval(t.fp32Ort, t.intervals?.fp32Ort)} | ${pctWithInterval(t.int8Ort, t.intervals?.int8Ort)} | ${ptsWithInterval(t.int8MinusTeacherOrt)} | ${t.int8Bytes === null ? 'n/a' : `${t.int8Bytes.toLocaleString('en-US')} B`} | ${t.teacherOverInt8Brotli === null ? 'n/a' : `${t.teacherOverInt8Brotli.toFixed(2)}x`} |`,
    ),
    '',
    "Each task's own report (sizes, per-tensor sparsity, latency) is in tasks/<task>/report.md.",
    '',
  ];
  return lines.join('\n');
}

/** Writes tasks.json and tasks.md at the top of a multi-task run. */
export function writeTasksSummary(runDir: string, tasks: readonly string[]): TasksSummary {
  const s = tasksSummary(runDir, tasks);
  writeJsonAtomic(runFile(runDir, 'tasksJson'), s);
  writeFileAtomic(runFile(runDir, 'tasksMd'), renderTasksMarkdown(s));
  return s;
}
