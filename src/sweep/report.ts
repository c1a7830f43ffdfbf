/**
 * The sweep report: per grid point (seeds pooled), accuracy of the dense teacher, the sparse fp32
 * model and the sparse int8 model in ONNX Runtime, and the exported files' sizes raw and brotli,
 * against sparsity; the seeds' spread (mean, min, max); the Pareto frontier of int8 accuracy
 * against int8 brotli size marked. Every figure is read or recomputed from the points' run
 * directories, which are assembled from the cache (links) under `<out>/points/<id>/`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliSize, DEFAULT_BROTLI_QUALITY } from '../util/compress.js';
import { readResult } from '../run/result.js';
import { isCacheable, restoreStage } from '../pipeline/stage-cache.js';
import type { StageName } from '../pipeline/stages/index.js';
import { taskRunDir } from '../run/layout.js';
import { writeJsonAtomic } from '../util/fs.js';
import { brotliQualityOf, type SweepPlan, type SweepPoint } from './plan.js';

export interface Spread {
  mean: number;
  min: number;
  max: number;
  n: number;
}

/** What each figure is; brotli sizes at the pipeline's report brotliQuality (11 unless set). */
export const figureDefinitions = (brotliQuality: number) =>
  ({
    teacher_accuracy: 'dense teacher test accuracy (model.teacher.fp32.onnx in ONNX Runtime)',
    fp32_accuracy: 'sparse fp32 test accuracy (model.fp32.onnx in ONNX Runtime)',
    int8_accuracy: 'sparse int8 test accuracy (model.int8.onnx in ONNX Runtime)',
    encoder_sparsity: 'measured zero fraction of the encoder Linear weights in model.int8.onnx',
    fp32_bytes: 'model.fp32.onnx bytes',
    int8_bytes: 'model.int8.onnx bytes',
    fp32_brotli_bytes: `model.fp32.onnx bytes after brotli (node:zlib, quality ${brotliQuality})`,
    int8_brotli_bytes: `model.int8.onnx bytes after brotli (node:zlib, quality ${brotliQuality})`,
  }) as const;
export type Figure = keyof ReturnType<typeof figureDefinitions>;
const FIGURE_KEYS = Object.keys(figureDefinitions(DEFAULT_BROTLI_QUALITY)) as Figure[];

export interface PointFigures {
  id: string;
  values: SweepPoint['values'];
  /** The directory holding this task's stages: the point's run directory, or its `tasks/<task>/`. */
  runDir: string;
  /** The task: its name in a `tasks:` pipeline, else the task kind. */
  task: string;
  figures: Record<Figure, number>;
}

export interface SweepGroup {
  /** The grid values except the seed. */
  values: SweepPoint['values'];
  task: string;
  finalSparsity: number;
  points: string[];
  figures: Record<Figure, Spread>;
  pareto: boolean;
}

export interface SweepReport {
  name: string;
  sweepFile: string;
  /** The brotli quality of every point's brotli sizes. */
  brotliQuality: number;
  definitions: Record<Figure, string>;
  points: PointFigures[];
  groups: SweepGroup[];
}

/**
 * Brotli size of a file, remembered in `<cache>/brotli/<sha256>[-q<quality>].json`: quality 11 is
 * slow (seconds per MB), so each distinct file is compressed once, by the worker that exported it
 * (see execute.ts), and the report and later sweeps read the figure; the same bytes give the same size.
 */
export function brotliBytesMemo(cacheDir: string, path: string, quality: number): number {
  const bytes = readFileSync(path);
  const sha = createHash('sha256').update(bytes).digest('hex');
  // Quality 11's memo keeps the name it had before the quality could be chosen.
  const memo = join(cacheDir, 'brotli', `${sha}${quality === DEFAULT_BROTLI_QUALITY ? '' : `-q${quality}`}.json`);
  if (existsSync(memo)) return (JSON.parse(readFileSync(memo, 'utf8')) as { brotliBytes: number }).brotliBytes;
  const n = brotliSize(bytes, quality);
  writeJsonAtomic(memo, { sha256: sha, quality, brotliBytes: n });
  return n;
}

/** The exported files whose sizes the sweep report gives. */
export const SWEEP_FILES = ['model.fp32.onnx', 'model.int8.onnx'];

const isSeedKey = (k: string) => k === 'seed' || k === 'taskSeed';

/** The tasks of a point the report gives figures for, and where each task's stages are in its run directory. */
export function pointTasks(p: SweepPoint, runDir: string): Array<{ task: string; dir: string }> {
  if (!p.pipeline.tasks) return [{ task: p.pipeline.task.kind, dir: runDir }];
  return Object.keys(p.pipeline.tasks).map((task) => ({ task, dir: taskRunDir(runDir, task) }));
}

/**
 * Links each point's stages from the cache into `<outDir>/points/<id>/` (a `tasks:` pipeline's task
 * stages into `points/<id>/tasks/<task>/`), laid out as `prune-once run` lays out a run.
 */
export function assemblePoints(plan: SweepPlan, cacheDir: string, outDir: string): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const p of plan.points) {
    const runDir = join(outDir, 'points', p.id);
    for (const { stage, task, fingerprint: fp } of p.stages) {
      if (!isCacheable(stage)) continue;
      const dir = task ? taskRunDir(runDir, task) : runDir;
      if (readResult(join(dir, stage))?.fingerprint === fp) continue;
      if (!restoreStage(cacheDir, fp, dir, stage))
        throw new Error(
          `sweep report: stage ${task ? `${task}/` : ''}${stage} ${fp} of point ${p.id} is not in the cache ${cacheDir}; run the sweep's jobs first`,
        );
    }
    writeJsonAtomic(join(runDir, 'pipeline.json'), { source: plan.file, sets: p.sets, pipeline: p.pipeline });
    dirs.set(p.id, runDir);
  }
  return dirs;
}

function spread(xs: number[]): Spread {
  const ok = xs.filter((x) => Number.isFinite(x));
  if (!ok.length) return { mean: NaN, min: NaN, max: NaN, n: 0 };
  return { mean: ok.reduce((a, b) => a + b, 0) / ok.length, min: Math.min(...ok), max: Math.max(...ok), n: ok.length };
}

/** The figures of one task of a point, read from its stages in `runDir` (the task's directory). */
export function pointFigures(p: SweepPoint, task: string, runDir: string, cacheDir: string): PointFigures {
  const metric = (stage: StageName, key: string) => readResult(join(runDir, stage))?.metrics[key] ?? NaN;
  const file = (name: string) => join(runDir, name);
  const size = (name: string) => (existsSync(file(name)) ? readFileSync(file(name)).length : NaN);
  const brotli = (name: string) => (existsSync(file(name)) ? brotliBytesMemo(cacheDir, file(name), brotliQualityOf(p.pipeline)) : NaN);
  return {
    id: p.id,
    values: p.values,
    runDir,
    task,
    figures: {
      teacher_accuracy: metric('export', 'teacher_fp32_ort_test_accuracy'),
      fp32_accuracy: metric('export', 'fp32_ort_test_accuracy'),
      int8_accuracy: metric('export', 'int8_ort_test_accuracy'),
      encoder_sparsity: metric('export', 'int8_encoder_sparsity'),
      fp32_bytes: size('model.fp32.onnx'),
      int8_bytes: size('model.int8.onnx'),
      fp32_brotli_bytes: brotli('model.fp32.onnx'),
      int8_brotli_bytes: brotli('model.int8.onnx'),
    },
  };
}

/** Groups not beaten by another of the same task on both int8 accuracy (higher) and int8 brotli size (smaller). */
function markPareto(groups: SweepGroup[]): void {
  for (const g of groups) {
    const a = g.figures.int8_accuracy.mean;
    const b = g.figures.int8_brotli_bytes.mean;
    g.pareto =
      Number.isFinite(a) &&
      Number.isFinite(b) &&
      !groups.some(
        (h) =>
          h !== g &&
          h.task === g.task &&
          h.figures.int8_accuracy.mean >= a &&
          h.figures.int8_brotli_bytes.mean <= b &&
          (h.figures.int8_accuracy.mean > a || h.figures.int8_brotli_bytes.mean < b),
      );
  }
}

export function buildSweepReport(plan: SweepPlan, dirs: Map<string, string>, cacheDir: string): SweepReport {
  const qualities = [...new Set(plan.points.map((p) => brotliQualityOf(p.pipeline)))];
  if (qualities.length > 1)
    throw new Error(
      `${plan.file}: the points' stages.report.brotliQuality differ (${qualities.join(', ')}), so their brotli sizes could not be compared; set it once, in the pipeline, not in the grid`,
    );
  const points: PointFigures[] = [];
  // One group per task and grid point without the seed: its points are the seeds.
  const groups = new Map<string, { p: SweepPoint; task: string; figs: PointFigures[] }>();
  for (const p of plan.points) {
    for (const { task, dir } of pointTasks(p, dirs.get(p.id)!)) {
      const figs = pointFigures(p, task, dir, cacheDir);
      points.push(figs);
      const key = JSON.stringify([task, Object.entries(p.values).filter(([k]) => !isSeedKey(k))]);
      const g = groups.get(key) ?? { p, task, figs: [] };
      g.figs.push(figs);
      groups.set(key, g);
    }
  }
  const out: SweepGroup[] = [...groups.values()].map(({ p, task, figs }) => ({
    values: Object.fromEntries(Object.entries(p.values).filter(([k]) => !isSeedKey(k))),
    task,
    finalSparsity: (p.pipeline.stages['prune-distill']?.pruning.schedule as { finalSparsity?: number } | undefined)?.finalSparsity ?? 0,
    points: figs.map((f) => f.id),
    figures: Object.fromEntries(FIGURE_KEYS.map((k) => [k, spread(figs.map((f) => f.figures[k]))])) as Record<Figure, Spread>,
    pareto: false,
  }));
  out.sort((a, b) => a.task.localeCompare(b.task) || a.finalSparsity - b.finalSparsity);
  markPareto(out);
  const brotliQuality = qualities[0] ?? DEFAULT_BROTLI_QUALITY;
  return { name: plan.sweep.name, sweepFile: plan.file, brotliQuality, definitions: figureDefinitions(brotliQuality), points, groups: out };
}

const pct = (s: Spread) => (s.n ? `${(100 * s.mean).toFixed(1)}${s.n > 1 ? ` [${(100 * s.min).toFixed(1)}, ${(100 * s.max).toFixed(1)}]` : ''}` : 'n/a');
const kb = (s: Spread) =>
  s.n ? `${(s.mean / 1024).toFixed(1)}${s.n > 1 && s.min !== s.max ? ` [${(s.min / 1024).toFixed(1)}, ${(s.max / 1024).toFixed(1)}]` : ''}` : 'n/a';

export function renderSweepMarkdown(r: SweepReport): string {
  const keys = [...new Set(r.groups.flatMap((g) => Object.keys(g.values)))];
  const head = [
    'task',
    ...keys.map((k) => k.split('.').at(-1)!),
    'seeds',
    'encoder sparsity %',
    'teacher acc %',
    'sparse fp32 acc %',
    'sparse int8 acc % (ORT)',
    'fp32 KiB',
    'int8 KiB',
    'fp32 brotli KiB',
    'int8 brotli KiB',
    'Pareto',
  ];
  const rows = r.groups.map((g) => [
    g.task,
    ...keys.map((k) => String(g.values[k] ?? '')),
    String(g.points.length),
    pct(g.figures.encoder_sparsity),
    pct(g.figures.teacher_accuracy),
    pct(g.figures.fp32_accuracy),
    pct(g.figures.int8_accuracy),
    kb(g.figures.fp32_bytes),
    kb(g.figures.int8_bytes),
    kb(g.figures.fp32_brotli_bytes),
    kb(g.figures.int8_brotli_bytes),
    g.pareto ? '**yes**' : '',
  ]);
  return [
    `# Sweep ${r.name}`,
    '',
    `From ${r.sweepFile}. Each row pools the seeds of one grid point: mean [min, max] over seeds. Pareto: no other row of the same task has both a higher int8 accuracy and a smaller int8 brotli size.`,
    '',
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
    '',
    ...Object.entries(r.definitions).map(([k, v]) => `- ${k}: ${v}`),
    '',
    `Run directories (stages linked from the cache): ${r.points.map((p) => p.runDir).join(', ')}`,
    '',
  ].join('\n');
}
