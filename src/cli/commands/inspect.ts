import type { Argv, CommandModule } from 'yargs';
import { inspectTarget } from '../../pipeline/inspect.js';

interface InspectArgs {
  target: string;
  json: boolean;
  baseline?: string;
  html: boolean;
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <target>',
  describe:
    "Show a run's compression report, or what any ONNX file holds (per-tensor dtype, shape, storage incl. compact mask/gaps/nibbles weights, non-zeros counted from the decoded values, sparsity, bytes, bytes by part, raw/gzip/brotli sizes, quantization)",
  builder: (y: Argv) =>
    y
      .positional('target', { type: 'string', demandOption: true, describe: 'a run directory, a report.json, or a .onnx file (any ONNX model, not only ours)' })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable JSON instead of tables' })
      .option('baseline', {
        type: 'string',
        describe: "a dense .onnx file (e.g. model.teacher.fp32.onnx) to give the file's raw / gzip / brotli ratios against",
      })
      .option('html', { type: 'boolean', default: false, describe: "write the run's report.html (self-contained, with charts) beside its report.json" })
      .example('$0 inspect artifacts/prune-once', 'the compression and accuracy report of a run')
      .example('$0 inspect artifacts/prune-once --html', 'write artifacts/prune-once/report.html')
      .example('$0 inspect artifacts/prune-once/model.int8.onnx --json', 'per-initializer facts of the int8 file as JSON')
      .example(
        '$0 inspect artifacts/prune-once/model.int8.onnx --baseline artifacts/prune-once/model.teacher.fp32.onnx',
        'sizes by part, bits per encoder weight, and the ratios against the dense teacher',
      ) as unknown as Argv<InspectArgs>,
  handler: async (args) => {
    if (args.html) {
      const { writeHtmlReportFor } = await import('../../pipeline/inspect.js');
      process.stdout.write(`wrote ${await writeHtmlReportFor(args.target)}\n`);
      return;
    }
    const { text, errors } = inspectTarget(args.target, args.json, args.baseline);
    process.stdout.write(`${text}\n`);
    if (errors.length) process.exitCode = 1;
  },
};
