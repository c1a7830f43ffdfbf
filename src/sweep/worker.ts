/**
 * `prune-once worker`: takes stage jobs from the BullMQ queue until told to stop. Each job runs in
 * a child process (kept for the next job), so this process keeps renewing the job's lock while the stage computes. If this
 * process dies, the lock expires after `lockDuration`; another worker's stalled-job check (every
 * `stalledInterval`) puts the job back in the queue, and the retry resumes from the resume.ckpt in
 * the cache's work area. SIGTERM/SIGINT: finish the running jobs, take no new ones, exit.
 */
import { hostname } from 'node:os';
import { Worker } from 'bullmq';
import { openCache } from '../pipeline/stage-cache.js';
import { StageChildPool, type ChildHandle, type StageJobData, type StageJobOutcome } from './execute.js';
import { checkRedis, QUEUE_NAME } from './redis.js';
import { jobName } from './schedule.js';

export interface WorkerOptions {
  redis: string;
  cacheDir: string;
  concurrency: number;
  /** How long a job's lock lasts without renewal: how soon a dead worker's job is taken over. */
  lockDurationMs: number;
  /** How often this worker looks for jobs whose lock expired. */
  stalledIntervalMs: number;
  backend?: string;
  verbose?: boolean;
  log(message: string): void;
}

export async function runWorker(o: WorkerOptions): Promise<void> {
  openCache(o.cacheDir);
  await checkRedis(o.redis);
  const children = new Set<ChildHandle>();
  const pool = new StageChildPool(o);
  const worker = new Worker<StageJobData, StageJobOutcome>(
    QUEUE_NAME,
    async (job) => {
      o.log(`worker ${hostname()}:${process.pid}: ${jobName(job.data)} ${job.data.fingerprint} started (attempt ${job.attemptsMade + 1})`);
      const h = pool.run(o.cacheDir, job.data);
      children.add(h);
      try {
        const outcome = await h.promise;
        o.log(`worker ${hostname()}:${process.pid}: ${jobName(job.data)} ${job.data.fingerprint} ${outcome.outcome} in ${outcome.seconds.toFixed(1)} s`);
        return outcome;
      } finally {
        children.delete(h);
      }
    },
    {
      connection: { url: o.redis },
      concurrency: o.concurrency,
      lockDuration: o.lockDurationMs,
      stalledInterval: o.stalledIntervalMs,
      // A job whose worker died twice is still retried; a third loss fails it (and the sweep says so).
      maxStalledCount: 2,
    },
  );
  worker.on('failed', (job, err) =>
    o.log(`worker ${hostname()}:${process.pid}: ${job ? jobName(job.data) : '?'} ${job?.data.fingerprint} failed: ${err.message}`),
  );
  worker.on('error', (err) => o.log(`worker: ${err.message}`));
  await worker.waitUntilReady();
  o.log(
    `worker ${hostname()}:${process.pid}: waiting for stage jobs on ${o.redis} (queue ${QUEUE_NAME}), cache ${o.cacheDir}; SIGTERM or Ctrl-C to stop after the running job`,
  );
  await new Promise<void>((resolveStop) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        o.log(`worker: second ${signal}: stopping now; the running job will be retried from its checkpoint`);
        for (const c of children) c.kill();
        process.exit(130);
      }
      stopping = true;
      o.log(`worker: ${signal}: finishing the running job, then exiting (send it again to stop at once)`);
      worker.close().then(resolveStop, resolveStop);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
  // The idle children would keep this process alive.
  pool.close();
}
