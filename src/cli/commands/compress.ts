import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../number-flags.js';

interface CompressArgs {
  model: string;
  train: string;
  dev: string;
  test?: string;
  sparsity: number;
  out?: string;
  set: string[];
  backend?: string;
  quiet: boolean;
}

export const compressCommand: CommandModule<object, CompressArgs> = {
  command: 'compress <model>',
  describe: 'Compress the model you have: a fine-tuned Hugging Face classifier pruned while fine-tuning on your TSV files, then int8 ONNX',
  // Async, so the engine loads only for `compress`, not for `--help` or another command.
  builder: async (y: Argv) => {
    const { DEFAULT_SPARSITY } = await import('../../pipeline/compress.js');
    return y
      .positional('model', {
        type: 'string',
        demandOption: true,
        describe: 'a fine-tuned BertForSequenceClassification directory (config.json with id2label, model.safetensors, vocab.txt)',
      })
      .option('train', { type: 'string', demandOption: true, describe: 'training file: TSV with a header row naming "sentence" and "label" (or JSONL)' })
      .option('dev', { type: 'string', demandOption: true, describe: 'development file, same format' })
      .option('test', { type: 'string', describe: 'test file (default: the dev file split in half into dev and test)' })
      .option('sparsity', { type: 'number', default: DEFAULT_SPARSITY, describe: 'fraction of the encoder Linear weights set to zero, in [0, 1)' })
      .option('out', { type: 'string', describe: 'run directory (default: artifacts/compress-<model directory name>)' })
      .option('set', {
        type: 'string',
        array: true,
        default: [],
        describe: 'override a setting of the built pipeline, e.g. --set stages.transfer.train.steps=300',
      })
      .option('backend', { type: 'string', describe: 'tfjs backend: auto, gpu, node, wasm or cpu' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no progress output' })
      .example(
        '$0 compress ./my-bert-sst2 --train train.tsv --dev dev.tsv --sparsity 0.9 --out runs/sst2',
        'prune to 90% during fine-tuning, int8, report',
      ) as unknown as Argv<CompressArgs>;
  },
  handler: async (args) => {
    if (!(args.sparsity >= 0 && args.sparsity < 1))
      throw new UsageError(`--sparsity ${args.sparsity}: must be in [0, 1) (the fraction of encoder Linear weights set to zero), e.g. --sparsity 0.9`);
    const { compress, compressSummary } = await import('../../pipeline/compress.js');
    const result = await compress({
      model: args.model,
      train: args.train,
      dev: args.dev,
      test: args.test,
      sparsity: args.sparsity,
      outDir: args.out,
      sets: args.set,
      backend: args.backend,
      quiet: args.quiet,
    });
    process.stdout.write(`\n${compressSummary(result)}\n`);
  },
};
