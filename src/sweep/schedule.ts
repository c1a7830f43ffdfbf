/**
 * Runs a sweep's stage jobs in dependency order: a job starts when every job it needs is done (in
 * the cache), up to `limit` at once. Jobs already in the cache are done from the start.
 */
import { readEntry } from '../pipeline/stage-cache.js';
import type { StageJob } from './plan.js';
import type { StageJobOutcome } from './execute.js';

export interface ScheduleOptions {
  cacheDir: string;
  limit: number;
  start(job: StageJob): { promise: Promise<StageJobOutcome>; cancel(): void };
  log(message: string): void;
}

/** `stage`, or `task/stage` for a task's stage. */
export const jobName = (job: { stage: string; task?: string }) => (job.task ? `${job.task}/${job.stage}` : job.stage);

export async function runSchedule(jobs: StageJob[], o: ScheduleOptions): Promise<StageJobOutcome[]> {
  const done = new Set(jobs.filter((j) => readEntry(o.cacheDir, j.fingerprint)).map((j) => j.fingerprint));
  const total = jobs.length;
  if (done.size) o.log(`sweep: ${done.size} of ${total} stage jobs already in the cache`);
  const pending = jobs.filter((j) => !done.has(j.fingerprint));
  const running = new Map<string, { job: StageJob; cancel(): void; promise: Promise<{ fp: string; outcome?: StageJobOutcome; error?: Error }> }>();
  const outcomes: StageJobOutcome[] = [];
  const t0 = performance.now();
  let finished = 0;
  while (pending.length || running.size) {
    for (let i = 0; i < pending.length && running.size < o.limit;) {
      const job = pending[i];
      if (!job.needs.every((fp) => done.has(fp))) {
        i++;
        continue;
      }
      pending.splice(i, 1);
      o.log(`sweep: ${jobName(job)} ${job.fingerprint} started (for ${job.points.length} point${job.points.length > 1 ? 's' : ''})`);
      const h = o.start(job);
      running.set(job.fingerprint, {
        job,
        cancel: h.cancel,
        promise: h.promise.then(
          (outcome) => ({ fp: job.fingerprint, outcome }),
          (error: Error) => ({ fp: job.fingerprint, error }),
        ),
      });
    }
    if (!running.size) throw new Error(`sweep: ${pending.length} jobs wait for jobs that are not in the plan (internal error)`);
    const r = await Promise.race([...running.values()].map((x) => x.promise));
    const { job } = running.get(r.fp)!;
    running.delete(r.fp);
    if (r.error) {
      for (const x of running.values()) x.cancel();
      throw new Error(`sweep: stage job ${jobName(job)} ${job.fingerprint} failed: ${r.error.message}`);
    }
    done.add(r.fp);
    outcomes.push(r.outcome!);
    finished++;
    const left = pending.length + running.size;
    const elapsed = (performance.now() - t0) / 1000;
    const eta = finished ? (elapsed / finished) * left : NaN;
    o.log(
      `sweep: ${jobName(job)} ${job.fingerprint} ${r.outcome!.outcome} in ${r.outcome!.seconds.toFixed(1)} s [${total - left}/${total} jobs, ${elapsed.toFixed(0)} s elapsed, ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)} s` : '?'}]`,
    );
  }
  return outcomes;
}
