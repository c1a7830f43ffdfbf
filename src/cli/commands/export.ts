import type { Argv, CommandModule } from 'yargs';
import type { ExportFormatOption } from '../../pipeline/export-model.js';
import { TASK_OPTION } from '../task-option.js';

interface ExportArgs {
  input: string;
  format: ExportFormatOption;
  out?: string;
  backend: string;
  dtype: 'f32' | 'f16' | 'bf16';
  task?: string;
}

export const exportCommand: CommandModule<object, ExportArgs> = {
  command: 'export <input>',
  describe:
    'Write ONNX files from a run directory (what the export stage writes: dense teacher, sparse fp32, int8 and its other-embedding variant) or from one checkpoint, checked in ONNX Runtime and onnxruntime-web; or a Hugging Face directory (--format safetensors)',
  builder: (y: Argv) =>
    y
      .positional('input', {
        type: 'string',
        demandOption: true,
        describe: 'a run directory (artifacts/<name>; a multi-task run with --task, or its tasks/<task>), or a model.ckpt',
      })
      .option('task', TASK_OPTION)
      .option('format', {
        choices: ['int8', 'fp32', 'both', 'safetensors', 'transformers.js'] as const,
        default: 'both' as const,
        describe:
          'which files to write: both = every file the source allows (from a run: model.teacher.fp32.onnx, model.fp32.onnx, model.int8.onnx, model.int8-alt-embeddings.onnx); int8 = the int8 file and its other-embedding variant; safetensors: a Hugging Face BERT directory from transfer, or from the checkpoint given; transformers.js: a model folder for @huggingface/transformers (text-classification from a run or task directory, fill-mask from a pre-trained checkpoint such as <run>/prune-distill/model.ckpt)',
      })
      .option('backend', {
        type: 'string',
        default: 'auto',
        describe: 'tensorflow.js backend for the check against the tfjs forward: gpu, node, wasm, cpu, or auto',
      })
      .option('dtype', {
        choices: ['f32', 'f16', 'bf16'] as const,
        default: 'f32' as const,
        describe: 'with --format safetensors: how the weights are stored (f16 halves the file; import reads all three)',
      })
      .option('out', {
        type: 'string',
        describe:
          'output directory (default: the run directory, or . for a checkpoint; for safetensors: huggingface/, for transformers.js: transformers.js/, in the run directory or next to the checkpoint)',
      })
      .example(
        '$0 export artifacts/prune-once --task spam --format int8 --out dist-model',
        "the spam task's sparse int8 model for onnxruntime-node / onnxruntime-web",
      )
      .example(
        '$0 export artifacts/teacher/teacher/model.ckpt --format safetensors --dtype f16 --out my-teacher',
        'a pre-trained teacher in half precision, for `teacher: { from: my-teacher }`',
      )
      .example(
        '$0 export artifacts/prune-once --task spam --format transformers.js --out my-model',
        "a folder for transformers.js's pipeline('text-classification', ...)",
      )
      .example(
        '$0 export artifacts/prune-once/tasks/spam --format safetensors --out my-bert-hf',
        "the spam task's sparse fine-tuned model as a Hugging Face directory (with the run's vocab.txt), for transformers",
      ) as unknown as Argv<ExportArgs>,
  handler: async (args) => {
    // Loaded here, not at startup: `--help` and the other commands do not need the engine.
    const { exportModel } = await import('../../pipeline/export-model.js');
    let lastSource = '';
    for (const f of await exportModel(args.input, args.format, args.out, {
      backend: args.backend,
      dtype: args.dtype.toUpperCase() as 'F32' | 'F16' | 'BF16',
      task: args.task,
    })) {
      const c = f.check;
      const check = c
        ? `; ONNX Runtime vs tfjs: ${(100 * c.ortTfjsAgreement).toFixed(0)}% same predictions on ${c.examples} probe rows${c.web ? `, onnxruntime-web vs node: ${(100 * c.web.agreement).toFixed(0)}%` : ''}`
        : '';
      // Files of one source (a safetensors or transformers.js folder) name it once.
      const from = f.source === lastSource ? '' : ` from ${f.source}`;
      lastSource = f.source;
      process.stdout.write(`${f.format}: ${f.path} (${f.bytes.toLocaleString('en-US')} bytes)${from}${check}\n`);
      for (const w of f.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
    }
  },
};
