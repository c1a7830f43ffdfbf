import type { Argv, CommandModule } from 'yargs';
import { TASK_OPTION } from '../task-option.js';

interface InspectArgs {
  target: string;
  json: boolean;
  baseline?: string;
  html: boolean;
  task?: string;
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <target>',
  describe:
    "Show a run's compression report, or what any ONNX file holds (per-tensor dtype, shape, storage incl. compact mask/gaps/nibbles weights, non-zeros counted from the decoded values, sparsity, bytes, bytes by part, raw/gzip/brotli sizes, quantization)",
  builder: (y: Argv) =>
    y
      .positional('target', {
        type: 'string',
        demandOption: true,
        describe:
          'a run directory (a multi-task run: its shared stages, each task and the table of tasks), a report.json, or a .onnx file (any ONNX model, not only ours)',
      })
      .option('task', TASK_OPTION)
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable JSON instead of tables' })
      .option('baseline', {
        type: 'string',
        describe: "a dense .onnx file (e.g. model.teacher.fp32.onnx) to give the file's raw / gzip / brotli ratios against",
      })
      .option('html', {
        type: 'boolean',
        default: false,
        describe: "write the run's report.html (self-contained, with charts) beside its report.json (a multi-task run: each task's)",
      })
      .example('$0 inspect artifacts/prune-once', 'a run: its report; a multi-task run (the main job): its shared stages, each task and the table of tasks')
      .example('$0 inspect artifacts/prune-once --task spam', "one task's report in a multi-task run (the same as artifacts/prune-once/tasks/spam)")
      .example('$0 inspect artifacts/prune-once --html', "write each task's report.html (tasks/<task>/report.html)")
      .example('$0 inspect artifacts/prune-once/tasks/spam/model.int8.onnx --json', 'per-initializer facts of the int8 file as JSON')
      .example(
        '$0 inspect artifacts/prune-once/tasks/spam/model.int8.onnx --baseline artifacts/prune-once/tasks/spam/model.teacher.fp32.onnx',
        'sizes by part, bits per encoder weight, and the ratios against the dense teacher',
      ) as unknown as Argv<InspectArgs>,
  handler: async (args) => {
    const { inspectPath, writeHtmlReports } = await import('../../pipeline/inspect.js');
    if (args.html) {
      for (const f of await writeHtmlReports(args.target, args.task)) process.stdout.write(`wrote ${f}\n`);
      return;
    }
    const { text, ok } = inspectPath(args.target, args.json, { baseline: args.baseline, task: args.task });
    process.stdout.write(`${text}\n`);
    if (!ok) process.exitCode = 1;
  },
};
