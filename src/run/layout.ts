/**
 * The run directory's layout: every file name and path a run writes or reads, declared once. The
 * runner, the stages, the report, `export` and `inspect` all find artifacts through here.
 *
 * ```
 * <run>/pipeline.json                 the validated pipeline, with its source file and --set values
 * <run>/vocab.txt                     the corpus-subset vocabulary (tokenizer.vocab: corpus-subset)
 * <run>/<stage>/model.ckpt            a stage's model (weights, config, state)
 * <run>/<stage>/resume.ckpt           periodic checkpoint while a stage trains (deleted at the end)
 * <run>/<stage>/result.json           fingerprint, metrics, details: written last, marks the stage done
 * <run>/teacher/vocab.txt, tokenizer_config.json   a Hugging Face teacher's tokenizer
 * <run>/model.teacher.fp32.onnx, model.fp32.onnx, model.int8.onnx, model.int8-alt-embeddings.onnx
 *                                     the export stage's files
 * <run>/report.json, report.md, report.html   the report stage's files
 * <run>/huggingface/                  `export --format safetensors` of a run, by default
 * <run>/tasks/<task>/                 a multi-task run (`tasks:`): each task's stages and files, laid
 *                                     out as above; the shared teacher and prune-distill stay in <run>/
 * <run>/tasks.json, tasks.md          a multi-task run's accuracy table, one row per task
 * ```
 */
import { join } from 'node:path';

/** Files in each stage's directory. */
export const STAGE_FILES = {
  model: 'model.ckpt',
  resume: 'resume.ckpt',
  result: 'result.json',
} as const;

/** Files at the top of the run directory. */
export const RUN_FILES = {
  pipeline: 'pipeline.json',
  vocab: 'vocab.txt',
  reportJson: 'report.json',
  reportMd: 'report.md',
  reportHtml: 'report.html',
  tasksJson: 'tasks.json',
  tasksMd: 'tasks.md',
} as const;

/** The run directory's marker and manifest: every file the run wrote, with size and sha256 (src/util/owned-dir.ts). */
export const RUN_MARKER = '.prune-once-run';

/** The folder of a multi-task run that holds one run-like directory per task. */
export const TASKS_DIR = 'tasks';

/** The exported ONNX files, by format. */
export const ONNX_FILES = {
  /** The dense fine-tuned teacher, fp32: the baseline of the report's size ratios. */
  teacher: 'model.teacher.fp32.onnx',
  /** The sparse student before QAT, dense fp32 storage. */
  fp32: 'model.fp32.onnx',
  /** The QAT student: QDQ int8, compact weight storage (src/onnx/storage.ts). */
  int8: 'model.int8.onnx',
  /** The int8 model with the other embedding-table choice (fp32 tables when QAT made them int8, the default; else int8 per-row). */
  int8_alt: 'model.int8-alt-embeddings.onnx',
} as const;
export type OnnxFormat = keyof typeof ONNX_FILES;

/** The export stage's per-example ONNX Runtime predictions on the test split (what the report's intervals are computed from). */
export const TEST_PREDICTIONS_FILE = join('export', 'test-predictions.json');

/** Default output directory of `export --format safetensors` for a run. */
export const HF_EXPORT_DIR = 'huggingface';

/**
 * The stage whose model each exported format comes from: teacher is the dense fine-tuned teacher,
 * fp32 the sparse fine-tuned student before QAT, int8 the QAT student (its checkpoint holds the
 * quantization parameters; int8_alt comes from it too).
 */
export const MODEL_SOURCE_STAGE = { teacher: 'finetune-teacher', fp32: 'transfer', int8: 'qat' } as const;

/** The stage that holds a Hugging Face teacher's tokenizer files (vocab.txt, tokenizer_config.json). */
export const HF_TOKENIZER_STAGE = 'teacher';

export const stageDir = (runDir: string, stage: string): string => join(runDir, stage);
export const taskRunDir = (runDir: string, task: string): string => join(runDir, TASKS_DIR, task);
export const modelPath = (stageDirectory: string): string => join(stageDirectory, STAGE_FILES.model);
export const resumePath = (stageDirectory: string): string => join(stageDirectory, STAGE_FILES.resume);
export const resultPath = (stageDirectory: string): string => join(stageDirectory, STAGE_FILES.result);
export const runFile = (runDir: string, file: keyof typeof RUN_FILES): string => join(runDir, RUN_FILES[file]);
export const onnxPath = (runDir: string, format: OnnxFormat): string => join(runDir, ONNX_FILES[format]);

/** A path relative to the run directory, as stage tables and listings show it. */
export const inStage = (stage: string, file: keyof typeof STAGE_FILES): string => join(stage, STAGE_FILES[file]);
