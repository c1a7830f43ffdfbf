/**
 * A sweep file: a base pipeline, `--set` overrides for all points, and a grid of `--set` values.
 * Planning expands the grid into points, and the points' stages into stage jobs keyed by
 * fingerprint: a stage that is the same for several points (the teacher of every sparsity) is one
 * job. A `tasks:` pipeline plans as `prune-once run` runs it (planRun): its shared corpus stages
 * (teacher, prune-distill) once per fingerprint, each task's stages as jobs of their own that need
 * the shared ones, so the jobs fill the same cache entries a run of the point's pipeline would use.
 * Nothing runs here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { ConfigError, formatIssues, loadPipeline } from '../pipeline/load.js';
import { planRun, type FileDigests } from '../pipeline/run.js';
import { isCacheable } from '../pipeline/stage-cache.js';
import type { Pipeline } from '../pipeline/pipeline-schema.js';
import { STAGES, type StageName } from '../pipeline/stages/index.js';
import { DEFAULT_BROTLI_QUALITY } from '../util/compress.js';

const scalar = z.union([z.number(), z.string(), z.boolean()]);

export const SweepSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only (it names the sweep directory)'),
  description: z.string().optional(),
  /** The base pipeline file, relative to the sweep file. */
  pipeline: z.string(),
  /** `key=value` overrides applied to every point, as `prune-once run --set`. */
  set: z.array(z.string()).default([]),
  /** `--set` key -> the values to sweep; the points are every combination. */
  grid: z
    .record(z.string(), z.array(scalar).min(1))
    .refine((g) => Object.keys(g).length > 0, { message: 'a sweep needs at least one grid key, e.g. stages.prune-distill.pruning.finalSparsity: [0.8, 0.9]' }),
});
export type SweepFile = z.infer<typeof SweepSchema>;

export interface SweepPoint {
  /** Short, file-name-safe id, e.g. `finalSparsity=0.8_seed=42`. */
  id: string;
  /** Grid key -> value of this point. */
  values: Record<string, string | number | boolean>;
  sets: string[];
  pipeline: Pipeline;
  /** Every stage of the point's run, in run order, as `prune-once run` of its pipeline computes them. */
  stages: PointStage[];
}

export interface PointStage {
  stage: StageName;
  /** In a `tasks:` pipeline, the task of a task stage (absent for the shared corpus stages). */
  task?: string;
  fingerprint: string;
}

export interface StageJob {
  stage: StageName;
  /** The task whose directory (`tasks/<task>/`) the stage runs in, for a task stage of a `tasks:` pipeline. */
  task?: string;
  fingerprint: string;
  /** Fingerprints of the jobs this one waits for. */
  needs: string[];
  /**
   * The smallest pipeline that computes this stage: the stage and the stages it reads, transitively
   * (in a `tasks:` pipeline, a task stage's job keeps only its task).
   */
  pipeline: Pipeline;
  /** Points that use this stage. */
  points: string[];
  /** An export job's: the quality its worker sizes the exported files at for the sweep report (the point's report stage's, which the reduced pipeline lacks). */
  brotliQuality?: number;
}

/** The brotli quality of a sweep point's sizes: its pipeline's report stage's, else 11. */
export const brotliQualityOf = (pipeline: Pipeline): number => pipeline.stages.report?.brotliQuality ?? DEFAULT_BROTLI_QUALITY;

export interface SweepPlan {
  file: string;
  sweep: SweepFile;
  points: SweepPoint[];
  /** In an order where every job comes after the jobs it needs. */
  jobs: StageJob[];
}

export function readSweepFile(file: string): SweepFile {
  if (!existsSync(file)) throw new ConfigError(`${file}: file not found`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    if (e instanceof YAMLParseError) throw new ConfigError(`${file}: not valid YAML: ${e.message.split('\n')[0]}`);
    throw e;
  }
  const r = SweepSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(formatIssues(file, raw, r.error, SweepSchema).replace('invalid pipeline', 'invalid sweep'));
  return r.data;
}

function combinations(grid: Record<string, Array<string | number | boolean>>): Array<Record<string, string | number | boolean>> {
  let out: Array<Record<string, string | number | boolean>> = [{}];
  for (const [k, values] of Object.entries(grid)) out = out.flatMap((p) => values.map((v) => ({ ...p, [k]: v })));
  return out;
}

const pointId = (values: Record<string, unknown>) =>
  Object.entries(values)
    .map(([k, v]) => `${k.split('.').at(-1)}=${String(v)}`)
    .join('_')
    .replace(/[^A-Za-z0-9._=-]/g, '-');

/** The stage and every configured stage it reads, transitively. */
function closure(pipeline: Pipeline, stage: StageName): Set<StageName> {
  const out = new Set<StageName>([stage]);
  const visit = (s: StageName) => {
    const inputs = (STAGES.find((def) => def.name === s)?.inputs ?? []) as readonly StageName[];
    for (const d of inputs) {
      if (pipeline.stages[d] === undefined || out.has(d)) continue;
      out.add(d);
      visit(d);
    }
  };
  visit(stage);
  return out;
}

export function planSweep(file: string): SweepPlan {
  const sweep = readSweepFile(file);
  const base = resolve(dirname(file), sweep.pipeline);
  if (!existsSync(base))
    throw new ConfigError(`${file}: pipeline: ${sweep.pipeline}: file not found (looked at ${base}); the path is relative to the sweep file`);
  const points: SweepPoint[] = [];
  const jobs = new Map<string, StageJob>();
  // Each data file is hashed once for the whole sweep (a grid point names the same files as the base).
  const digests: FileDigests = new Map();
  for (const values of combinations(sweep.grid)) {
    const sets = [...sweep.set, ...Object.entries(values).map(([k, v]) => `${k}=${String(v)}`)];
    let pipeline: Pipeline;
    try {
      pipeline = loadPipeline(base, sets).pipeline;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      throw new ConfigError(
        `${file}: grid point ${JSON.stringify(values)} does not make a valid pipeline from ${sweep.pipeline}; every grid key must be a pipeline field written as for --set (e.g. stages.prune-distill.pruning.finalSparsity, seed):\n${e.message}`,
      );
    }
    const id = pointId(values);
    const point: SweepPoint = { id, values, sets, pipeline, stages: [] };
    for (const { stage, task, fingerprint, inputs } of planRun(pipeline, digests)) {
      point.stages.push({ stage, ...(task ? { task } : {}), fingerprint });
      if (!isCacheable(stage)) continue; // the report stage: the sweep report takes its place
      const job = jobs.get(fingerprint);
      if (job) {
        if (!job.points.includes(id)) job.points.push(id);
        continue;
      }
      const keep = closure(pipeline, stage);
      const reduced: Pipeline = {
        ...pipeline,
        ...(task && pipeline.tasks ? { tasks: { [task]: pipeline.tasks[task] } } : {}),
        stages: Object.fromEntries(Object.entries(pipeline.stages).filter(([s]) => keep.has(s as StageName))) as Pipeline['stages'],
      };
      // The reduced pipeline must give this stage the same fingerprint, or the worker would compute something else.
      if (planRun(reduced, digests).find((p) => p.stage === stage && p.task === task)?.fingerprint !== fingerprint)
        throw new Error(`internal: fingerprint of '${task ? `${task}/` : ''}${stage}' changes when the pipeline is reduced to its inputs`);
      jobs.set(fingerprint, {
        stage,
        ...(task ? { task } : {}),
        fingerprint,
        needs: Object.values(inputs),
        pipeline: reduced,
        points: [id],
        ...(stage === 'export' ? { brotliQuality: brotliQualityOf(pipeline) } : {}),
      });
    }
    points.push(point);
  }
  const dup = points.find((p, i) => points.findIndex((q) => q.id === p.id) !== i);
  if (dup) throw new ConfigError(`${file}: grid: two points have the id '${dup.id}'; make the last segments of the grid keys distinct`);
  return { file, sweep, points, jobs: [...jobs.values()] };
}
