import type { Argv, CommandModule } from 'yargs';
import { intFlagIssue, usageCheck } from '../number-flags.js';

interface WorkerArgs {
  redis: string;
  cache: string;
  concurrency: number;
  lockDuration: number;
  stalledInterval: number;
  backend?: string;
  verbose: boolean;
}

export const workerCommand: CommandModule<object, WorkerArgs> = {
  command: 'worker',
  describe: 'Take stage jobs of `prune-once sweep --executor bullmq` from a Redis queue until stopped (SIGTERM/Ctrl-C: finish the running job, then exit)',
  builder: (y: Argv) =>
    y
      .option('redis', { type: 'string', demandOption: true, describe: 'Redis URL, e.g. redis://10.0.0.5:6379' })
      .option('cache', {
        type: 'string',
        demandOption: true,
        describe: 'stage cache directory, shared with the other workers and the sweep (e.g. an NFS mount)',
      })
      .option('concurrency', { type: 'number', default: 1, describe: 'stage jobs at once (each is a process; training already uses the cores)' })
      .option('lock-duration', {
        type: 'number',
        default: 60,
        describe: "seconds a job stays locked without renewal: how soon a dead worker's job is retried elsewhere",
      })
      .option('stalled-interval', { type: 'number', default: 30, describe: "seconds between this worker's checks for jobs whose worker died" })
      .option('backend', { type: 'string', describe: "tfjs backend (default: the pipeline's)" })
      .option('verbose', { type: 'boolean', default: false, describe: "show each stage's progress" })
      .check((a) =>
        usageCheck([
          intFlagIssue('--concurrency', a.concurrency, 1, 64),
          intFlagIssue('--lock-duration', a['lock-duration'], 1, 86_400, 'seconds'),
          intFlagIssue('--stalled-interval', a['stalled-interval'], 1, 86_400, 'seconds'),
        ]),
      )
      .example('$0 worker --redis redis://10.0.0.5:6379 --cache /shared/stage-cache', 'one worker; start one per machine') as unknown as Argv<WorkerArgs>,
  handler: async (args) => {
    const { runWorker } = await import('../../sweep/worker.js');
    await runWorker({
      redis: args.redis,
      cacheDir: args.cache,
      concurrency: args.concurrency,
      lockDurationMs: args.lockDuration * 1000,
      stalledIntervalMs: args.stalledInterval * 1000,
      backend: args.backend,
      verbose: args.verbose,
      log: (m) => process.stderr.write(`${m}\n`),
    });
  },
};
