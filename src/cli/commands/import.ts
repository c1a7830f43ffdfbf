import type { Argv, CommandModule } from 'yargs';
import { intFlagIssue, usageCheck } from '../number-flags.js';

interface ImportArgs {
  dir: string;
  out: string;
  seed: number;
  json: boolean;
}

export const importCommand: CommandModule<object, ImportArgs> = {
  command: 'import <dir>',
  describe: 'Convert a Hugging Face BERT directory (config.json, model.safetensors, vocab.txt) into a prune-once checkpoint',
  builder: (y: Argv) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'a Hugging Face BERT directory, e.g. a downloaded bert-base-uncased' })
      .option('out', { type: 'string', demandOption: true, describe: 'checkpoint file to write (it also stores the tokenizer and the class names)' })
      .option('seed', { type: 'number', default: 0, describe: 'seed of the MLM head when the checkpoint has none (it is then freshly initialised)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' })
      .check((a) => usageCheck([intFlagIssue('--seed', a.seed, 0, 2 ** 32 - 1)]))
      .example(
        '$0 import ~/models/bert-base-uncased --out bert-base-uncased.ckpt',
        'convert once; then `teacher: { from: bert-base-uncased.ckpt }` or `export --format safetensors`',
      )
      .example(
        '$0 import ./my-finetuned-bert --out teacher.ckpt --json',
        'a fine-tuned classifier: its head and id2label are kept',
      ) as unknown as Argv<ImportArgs>,
  handler: async (args) => {
    const { importToCheckpoint } = await import('../../import/convert.js');
    const s = importToCheckpoint(args.dir, args.out, { seed: args.seed });
    if (args.json) {
      process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      return;
    }
    const c = s.config;
    const lines = [
      `imported ${s.source} (${s.architectures.join(', ') || 'no architectures listed'})`,
      `  encoder: L=${c.numLayers} H=${c.hiddenSize} A=${c.numHeads} I=${c.intermediateSize}, vocab ${c.vocabSize}, ${c.maxPositions} positions, ${c.hiddenAct}; ${s.parameters.toLocaleString('en-US')} parameters (${Object.entries(
        s.dtypes,
      )
        .map(([d, n]) => `${n} ${d}`)
        .join(', ')} tensors)`,
      `  heads: MLM ${s.heads.mlm}; classifier ${s.heads.classifier === 'none' ? 'none' : `${c.numLabels} labels (${s.labels.join(', ')})`}`,
      `  tokenizer: ${s.tokenizer.vocabFile}, ${s.tokenizer.vocabSize} entries, ${s.tokenizer.lowercase ? 'lower-cased' : 'cased'}`,
      ...s.warnings.map((w) => `  warning: ${w}`),
      `wrote ${s.checkpoint}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
