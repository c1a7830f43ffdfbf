/** `prune-once sweep`: plan, run the stage jobs (local or BullMQ), assemble the points, report. */
import { resolve } from 'node:path';
import { claimDir, withTrackedWrites } from '../util/owned-dir.js';
import { isCacheable, openCache } from '../pipeline/stage-cache.js';
import type { StageJobOutcome } from './execute.js';
import { runLocal, runOnQueue } from './executors.js';
import { planSweep, type SweepPlan } from './plan.js';
import { writeSweepReport, type SweepReportFiles } from './files.js';
import { assemblePoints, buildSweepReport, type SweepReport } from './report.js';

/** The sweep folder's marker and manifest: every file the sweep wrote there, with size and sha256. */
export const SWEEP_MARKER = '.prune-once-sweep';
const NOTE = 'this folder was made by prune-once sweep; `files` lists what it wrote (size, sha256): prune-once replaces only those';

export interface SweepOptions {
  sweepFile: string;
  cacheDir: string;
  outDir?: string;
  executor: 'local' | 'bullmq';
  workers?: number;
  redis?: string;
  backend?: string;
  verbose?: boolean;
  log?(message: string): void;
}

export interface SweepResult {
  plan: SweepPlan;
  outDir: string;
  outcomes: StageJobOutcome[];
  report: SweepReport;
  files: SweepReportFiles;
}

export async function runSweep(o: SweepOptions): Promise<SweepResult> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const plan = planSweep(o.sweepFile);
  const cacheDir = resolve(o.cacheDir);
  openCache(cacheDir);
  const outDir = resolve(o.outDir ?? `artifacts/sweeps/${plan.sweep.name}`);
  // The sweep's folder is claimed before any job runs (a folder of the user's is refused at once),
  // and then replaces only what it wrote there (src/util/owned-dir.ts).
  claimDir(outDir, SWEEP_MARKER, { note: NOTE, what: 'prune-once sweep', fix: 'give --out a new folder' });
  const shared = plan.points.reduce((n, p) => n + p.stages.filter((s) => isCacheable(s.stage)).length, 0);
  log(
    `sweep '${plan.sweep.name}': ${plan.points.length} points, ${plan.jobs.length} stage jobs (of ${shared} point stages), executor ${o.executor}, cache ${cacheDir}`,
  );
  const base = { cacheDir, backend: o.backend, verbose: o.verbose, log };
  let outcomes: StageJobOutcome[];
  if (o.executor === 'bullmq') {
    if (!o.redis) throw new Error('sweep --executor bullmq needs --redis redis://host:6379');
    outcomes = await runOnQueue(plan.jobs, { ...base, redis: o.redis });
  } else {
    outcomes = await runLocal(plan.jobs, { ...base, workers: o.workers ?? 2 });
  }
  const { report, files } = await withTrackedWrites(outDir, SWEEP_MARKER, async () => {
    const dirs = assemblePoints(plan, cacheDir, outDir);
    const r = buildSweepReport(plan, dirs, cacheDir);
    return { report: r, files: await writeSweepReport(r, outDir) };
  });
  log(`sweep report: ${files.markdown}, ${files.html} and ${files.json}`);
  return { plan, outDir, outcomes, report, files };
}
