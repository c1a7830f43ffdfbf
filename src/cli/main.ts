#!/usr/bin/env node
/**
 * prune-once: compress BERT-style encoders by pruning, distillation and quantization, and ship them
 * as sparse int8 ONNX models with honest reports.
 */
import { hideBin } from 'yargs/helpers';
import { program } from './program.js';

async function main(): Promise<void> {
  await (await program(hideBin(process.argv))).parseAsync();
}

main().catch((e: Error) => {
  process.stderr.write(`error: ${e.message}\n`);
  if (process.env.PRUNE_ONCE_DEBUG) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
