#!/usr/bin/env node
/**
 * prune-once: compress BERT-style encoders by pruning, distillation and quantization, and ship them
 * as sparse int8 ONNX models with honest reports.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { TOOL_VERSION } from '../version.js';
import { bundleCommand } from './commands/bundle.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { inspectCommand } from './commands/inspect.js';
import { predictCommand } from './commands/predict.js';
import { runCommand } from './commands/run.js';
import { sweepCommand } from './commands/sweep.js';
import { workerCommand } from './commands/worker.js';
import { serveCommand } from './commands/serve.js';
import { badNumberFlags, UsageError } from './number-flags.js';

async function main(): Promise<void> {
  const { benchCommand } = await import('./commands/bench.js');
  await yargs(hideBin(process.argv))
    .scriptName('prune-once')
    .usage(
      '$0 <command> [options]\n\nCompress a BERT encoder the Prune Once for All way (gradual magnitude pruning with distillation during pre-training, pattern-locked transfer, int8 quantization-aware training) and ship it as a sparse int8 ONNX model with a compression report.',
    )
    .command(runCommand)
    .command(exportCommand)
    // Hugging Face BERT directory -> checkpoint (issue: bring your own BERT).
    .command(importCommand)
    .command(inspectCommand)
    // Labels and scores for texts from an int8 model (issue 23).
    .command(predictCommand)
    .command(benchCommand)
    // Sweeps as stage jobs on a shared stage cache, locally or on BullMQ workers (issue 17).
    .command(sweepCommand)
    .command(workerCommand)
    .demandCommand(1, 'name a command: run, sweep, worker, export, import, inspect or bench (see --help)')
    .command(bundleCommand)
    .command(serveCommand)
    .demandCommand(1, 'name a command: run, export, import, inspect, predict, bench, bundle or serve (see --help)')
    .strict()
    // Every command: a number flag given something that is not a number fails here (exit 2).
    .check((argv) => {
      const bad = badNumberFlags(argv as Record<string, unknown>, hideBin(process.argv));
      if (bad.length) throw new UsageError(bad.join('\n       '));
      return true;
    }, true)
    .recommendCommands()
    .version(TOOL_VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err) => {
      if (err && !(err instanceof UsageError)) throw err;
      process.stderr.write(`error: ${msg ?? err?.message}\n(run with --help for usage)\n`);
      process.exit(2);
    })
    .parseAsync();
}

main().catch((e: Error) => {
  process.stderr.write(`error: ${e.message}\n`);
  if (process.env.PRUNE_ONCE_DEBUG) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
