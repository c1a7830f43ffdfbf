/**
 * Where a sweep's stage jobs run. `local`: child processes on this machine, `workers` at once.
 * `bullmq`: jobs on a Redis-backed BullMQ queue, taken by `prune-once worker` processes on any
 * machine that shares the cache directory; this process only submits jobs whose inputs are done
 * and waits for them.
 *
 * Dependencies are kept here rather than in BullMQ flows: a flow is a tree (a job has one parent),
 * while a sweep's stages form a graph (one teacher feeds every sparsity's prune-distill), and
 * adding an existing job under a second parent re-points its parent key in BullMQ's Lua scripts,
 * so the first parent would wait forever. jobId = fingerprint still makes BullMQ deduplicate a
 * stage that two sweeps (or two points) submit.
 */
import { Queue, QueueEvents } from 'bullmq';
import { StageChildPool, type StageJobData, type StageJobOutcome } from './execute.js';
import type { StageJob } from './plan.js';
import { checkRedis, QUEUE_NAME } from './redis.js';
import { runSchedule } from './schedule.js';

export interface ExecutorOptions {
  cacheDir: string;
  backend?: string;
  verbose?: boolean;
  log(message: string): void;
}

const jobData = (job: StageJob): StageJobData => ({
  stage: job.stage,
  ...(job.task ? { task: job.task } : {}),
  fingerprint: job.fingerprint,
  pipeline: job.pipeline,
  ...(job.brotliQuality === undefined ? {} : { brotliQuality: job.brotliQuality }),
});

export async function runLocal(jobs: StageJob[], o: ExecutorOptions & { workers: number }): Promise<StageJobOutcome[]> {
  const pool = new StageChildPool(o);
  try {
    return await runSchedule(jobs, {
      cacheDir: o.cacheDir,
      limit: o.workers,
      log: o.log,
      start: (job) => {
        const h = pool.run(o.cacheDir, jobData(job));
        return { promise: h.promise, cancel: h.kill };
      },
    });
  } finally {
    pool.close();
  }
}

/** Retries: a stage that fails (or whose worker dies) runs again, resuming from its checkpoint. */
export const JOB_ATTEMPTS = 3;

export async function runOnQueue(jobs: StageJob[], o: ExecutorOptions & { redis: string }): Promise<StageJobOutcome[]> {
  await checkRedis(o.redis);
  const connection = { url: o.redis };
  const queue = new Queue<StageJobData, StageJobOutcome>(QUEUE_NAME, { connection });
  const events = new QueueEvents(QUEUE_NAME, { connection });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  try {
    return await runSchedule(jobs, {
      cacheDir: o.cacheDir,
      limit: Number.POSITIVE_INFINITY,
      log: o.log,
      start: (job) => ({
        promise: (async () => {
          // A job that failed in an earlier sweep keeps its id: clear it so this sweep can retry.
          const old = await queue.getJob(job.fingerprint);
          if (old && (await old.isFailed())) await old.remove();
          const added = await queue.add(job.task ? `${job.task}/${job.stage}` : job.stage, jobData(job), {
            jobId: job.fingerprint,
            attempts: JOB_ATTEMPTS,
            backoff: { type: 'exponential', delay: 2000 },
            removeOnComplete: { age: 24 * 3600 },
            removeOnFail: { age: 7 * 24 * 3600 },
          });
          const outcome = (await added.waitUntilFinished(events)) as StageJobOutcome;
          if (!outcome?.fingerprint) throw new Error('the worker returned no outcome');
          return outcome;
        })(),
        cancel: () => {},
      }),
    });
  } finally {
    await events.close();
    await queue.close();
  }
}
