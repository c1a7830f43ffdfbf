/**
 * The command line as a yargs program, built but not run: main.ts runs it on process.argv, and
 * scripts/cli-docs.mjs asks it for every command's --help in one process.
 */
import yargs, { type Argv } from 'yargs';
import { TOOL_VERSION } from '../version.js';
import { bundleCommand } from './commands/bundle.js';
import { compressCommand } from './commands/compress.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { inspectCommand } from './commands/inspect.js';
import { predictCommand } from './commands/predict.js';
import { runCommand } from './commands/run.js';
import { sweepCommand } from './commands/sweep.js';
import { workerCommand } from './commands/worker.js';
import { serveCommand } from './commands/serve.js';
import { badNumberFlags, UsageError } from './number-flags.js';

export async function program(args: string[]): Promise<Argv> {
  const { benchCommand } = await import('./commands/bench.js');
  return (
    yargs(args)
      .scriptName('prune-once')
      .usage(
        '$0 <command> [options]\n\nCompress a BERT encoder the Prune Once for All way (gradual magnitude pruning with distillation during pre-training, pattern-locked transfer, int8 quantization-aware training) and ship it as a sparse int8 ONNX model with a compression report.',
      )
      .command(runCommand)
      // A fine-tuned Hugging Face classifier + TSV files -> sparse int8 ONNX, pruned downstream (issue 22).
      .command(compressCommand)
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
      .command(bundleCommand)
      .command(serveCommand)
      .demandCommand(1, 'name a command: run, compress, export, import, inspect, predict, bench, sweep, worker, bundle or serve (see --help)')
      .strict()
      // Every command: a number flag given something that is not a number fails here (exit 2).
      .check((argv) => {
        const bad = badNumberFlags(argv as Record<string, unknown>, args);
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
  );
}
