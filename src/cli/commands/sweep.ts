import type { Argv, CommandModule } from 'yargs';
import { intFlagIssue, usageCheck } from '../number-flags.js';

/** Each stage job is a process that trains on every core: more than this at once only thrashes. */
const MAX_WORKERS = 64;

interface SweepArgs {
  sweep: string;
  cache: string;
  out?: string;
  executor: 'local' | 'bullmq';
  workers: number;
  redis?: string;
  backend?: string;
  verbose: boolean;
}

export const sweepCommand: CommandModule<object, SweepArgs> = {
  command: 'sweep <sweep>',
  describe: 'Run a grid of pipelines (e.g. sparsities x seeds) as stage jobs sharing a stage cache, then write the sweep report',
  builder: (y: Argv) =>
    y
      .positional('sweep', { type: 'string', demandOption: true, describe: 'sweep YAML file, e.g. sweeps/sparsity.yaml' })
      .option('cache', {
        type: 'string',
        default: 'artifacts/stage-cache',
        describe: 'stage cache directory (with bullmq: the same shared directory the workers use)',
      })
      .option('out', {
        type: 'string',
        describe:
          'sweep directory: points/<id>/ run directories (a tasks: pipeline: with tasks/<task>/), sweep-report.json, sweep-report.md and sweep-report.html (charts: accuracy and size against sparsity, accuracy against size with the Pareto frontier; one page, no network) (default: artifacts/sweeps/<name>)',
      })
      .option('executor', {
        type: 'string',
        choices: ['local', 'bullmq'],
        default: 'local',
        describe: 'local: child processes here; bullmq: jobs on a Redis queue for `prune-once worker` processes',
      })
      .option('workers', { type: 'number', default: 2, describe: `local executor: stage jobs at once (1 to ${MAX_WORKERS})` })
      .option('redis', { type: 'string', describe: 'bullmq executor: Redis URL, e.g. redis://127.0.0.1:6379' })
      .option('backend', { type: 'string', describe: "tfjs backend for the local executor's jobs (default: the pipeline's)" })
      .option('verbose', { type: 'boolean', default: false, describe: "show each stage job's progress" })
      .check((a) => usageCheck([intFlagIssue('--workers', a.workers, 1, MAX_WORKERS, 'stage jobs at once')]))
      .example('$0 sweep sweeps/sparsity.yaml --workers 2', 'every sparsity x seed on this machine, two stage jobs at once')
      .example(
        '$0 sweep sweeps/sparsity.yaml --executor bullmq --redis redis://10.0.0.5:6379 --cache /shared/stage-cache',
        'submit the jobs to workers on other machines (see `prune-once worker --help`)',
      ) as unknown as Argv<SweepArgs>,
  handler: async (args) => {
    const [{ runSweep }, { renderSweepMarkdown }] = await Promise.all([import('../../sweep/index.js'), import('../../sweep/report.js')]);
    const r = await runSweep({
      sweepFile: args.sweep,
      cacheDir: args.cache,
      outDir: args.out,
      executor: args.executor,
      workers: args.workers,
      redis: args.redis,
      backend: args.backend,
      verbose: args.verbose,
    });
    process.stdout.write(`${renderSweepMarkdown(r.report)}\n`);
  },
};
