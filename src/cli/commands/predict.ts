import type { Argv, CommandModule } from 'yargs';
import type { Prediction, PredictInput } from '../../predict/index.js';
import { TASK_OPTION } from '../task-option.js';

interface PredictArgs {
  model: string;
  task?: string;
  text: string[];
  input?: string;
  json: boolean;
  batchSize: number;
}

async function readStdinLines(): Promise<PredictInput[]> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .split(/\r?\n/)
    .map((text, i) => ({ text, where: `stdin:${i + 1}` }))
    .filter((x) => x.text.trim() !== '');
}

const oneLine = (s: string, max = 70) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
};

const human = (p: Prediction) => `${p.label}\t${p.score.toFixed(4)}\t${oneLine(p.text)}${p.textPair !== undefined ? ` | ${oneLine(p.textPair)}` : ''}\n`;

export const predictCommand: CommandModule<object, PredictArgs> = {
  command: 'predict <model> [text..]',
  describe:
    "Classify texts with a prune-once int8 model in ONNX Runtime, tokenized by prune-once's tokenizer: label and score per text (from the arguments, --input, or standard input, one text per line)",
  builder: (y: Argv) =>
    y
      .positional('model', {
        type: 'string',
        demandOption: true,
        describe: 'a transformers.js model folder (export --format transformers.js), a run or task directory, or a prune-once .onnx file',
      })
      .positional('text', { type: 'string', array: true, default: [], describe: 'texts to classify (none and no --input: read standard input)' })
      .option('task', TASK_OPTION)
      .option('input', {
        type: 'string',
        describe:
          'a .tsv (header row with "sentence" or "text"; optional "sentence2", "label") or .jsonl file ({"text": ..., "label": ...}); with labels, the accuracy is printed',
      })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON object per input and line: text, label, score, scores (every label)' })
      .option('batch-size', { type: 'number', default: 32, describe: 'rows per ONNX Runtime call' })
      .example('$0 predict artifacts/prune-once/transformers.js "Win a free cruise now!"', 'label and score of one text')
      .example('$0 predict artifacts/prune-once --task spam --input test.jsonl --json', 'one JSON line per input, and the accuracy when the file has labels')
      .example('cat texts.txt | $0 predict my-model', 'one text per line from standard input') as unknown as Argv<PredictArgs>,
  handler: async (args) => {
    const { openPredictor, predictionAccuracy, readPredictInputs, resolvePredictModel } = await import('../../predict/index.js');
    if (args.input && args.text.length) throw new Error('give texts as arguments or --input, not both');
    const inputs: PredictInput[] = args.input ? readPredictInputs(args.input) : args.text.length ? args.text.map((text) => ({ text })) : await readStdinLines();
    const predictor = await openPredictor(resolvePredictModel(args.model, args.task), { batchSize: args.batchSize });
    try {
      const predictions = await predictor.classify(inputs);
      for (const p of predictions) process.stdout.write(args.json ? `${JSON.stringify(p)}\n` : human(p));
      const acc = predictionAccuracy(predictions);
      if (acc) process.stderr.write(`accuracy: ${acc.correct}/${acc.total} = ${(100 * acc.accuracy).toFixed(2)}% (inputs with a label)\n`);
    } finally {
      await predictor.release();
    }
  },
};
