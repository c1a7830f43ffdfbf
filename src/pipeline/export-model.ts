/**
 * `prune-once export`: ONNX files from a run directory or from a single checkpoint, through the
 * same exporter and checks as the pipeline's export stage (src/export/model-files.ts). From a run
 * directory it writes what the stage writes: the dense teacher (finetune-teacher), the sparse fp32
 * student (transfer), the int8 student and its other-embedding variant (qat). The checks run on a
 * seeded probe batch (the CLI has no task data): ONNX Runtime against the tfjs forward, and
 * onnxruntime-web against onnxruntime-node for the int8 files.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { selectBackend } from '../backend/select.js';
import { exportSafetensors } from '../export/hf-source.js';
import { exportTransformersJs } from '../export/transformers-js.js';
import { probeBatch, writeModelFiles, type FileCheck } from '../export/model-files.js';
import { buildModelSources, readModelCheckpoint, runCheckpoint, type SourceCheckpoint } from '../export/sources.js';
import { prepareRunDir } from './run-dir.js';
import { MODEL_SOURCE_STAGE, modelPath, RUN_FILES, RUN_MARKER, stageDir, type OnnxFormat } from '../run/layout.js';
import { resolveScope } from '../run/locate.js';
import { markOutputFolder, withTrackedWrites } from '../util/owned-dir.js';
import { checkOutputDirectory } from '../util/fs.js';

/**
 * 'both': every ONNX file the source allows; 'safetensors': a Hugging Face BERT directory (see
 * src/export/hf-source.ts); 'transformers.js': a model folder for transformers.js (src/export/transformers-js.ts).
 */
export type ExportFormatOption = 'int8' | 'fp32' | 'both' | 'safetensors' | 'transformers.js';

export interface ExportedFile {
  /** Which file: teacher (dense fp32), fp32, int8, int8_alt (the other embedding choice); or safetensors, transformers.js. */
  format: OnnxFormat | 'safetensors' | 'transformers.js';
  path: string;
  bytes: number;
  source: string;
  check?: Omit<FileCheck, 'logits' | 'predictions'>;
  /** Things the user should know about this file (safetensors: e.g. the tokenizer was not found). */
  warnings?: string[];
}

type Role = 'teacher' | 'student' | 'qat';

/** The directory or checkpoint `input` (with `--task`) stands for: a single-task run or one task's directory, or one checkpoint. */
function sourceOf(input: string, task: string | undefined): { runLike: string | null; path: string } {
  const { located, scope } = resolveScope(input, task, 'export', 'run directory or checkpoint');
  if (!statSync(located.path).isDirectory()) return { runLike: null, path: located.path };
  if (!scope || located.kind === 'stage' || located.kind === 'other')
    throw new Error(`${input}: not a run directory (no ${RUN_FILES.pipeline} here or in its run); give a run directory (artifacts/<name>) or a model.ckpt`);
  return { runLike: scope.dir, path: scope.dir };
}

/** Checkpoints per role: from a run directory (by stage) or one checkpoint file. */
function sourcesFor(
  input: string,
  source: ReturnType<typeof sourceOf>,
  format: Exclude<ExportFormatOption, 'safetensors' | 'transformers.js'>,
): Partial<Record<Role, SourceCheckpoint>> {
  const { path } = source;
  const wantFp32 = format !== 'int8';
  const wantInt8 = format !== 'fp32';
  if (source.runLike) {
    const dirOf = (stage: string) => stageDir(path, stage);
    return {
      ...(format === 'both' && existsSync(modelPath(dirOf(MODEL_SOURCE_STAGE.teacher))) ? { teacher: runCheckpoint(dirOf, 'teacher', input) } : {}),
      ...(wantFp32 ? { student: runCheckpoint(dirOf, 'fp32', input) } : {}),
      ...(wantInt8 ? { qat: runCheckpoint(dirOf, 'int8', input) } : {}),
    };
  }
  const one = readModelCheckpoint(path);
  // --format int8 of a checkpoint without quantization parameters is refused by the builder; both skips it.
  const asQat = format === 'int8' || (wantInt8 && one.checkpoint.state.stage === 'qat');
  return { ...(wantFp32 ? { student: one } : {}), ...(asQat ? { qat: one } : {}) };
}

export async function exportModel(
  input: string,
  format: ExportFormatOption,
  outDir?: string,
  opts: { backend?: string; dtype?: 'F32' | 'F16' | 'BF16'; task?: string } = {},
): Promise<ExportedFile[]> {
  // Hugging Face directory (config.json, model.safetensors, vocab.txt): one entry per file written.
  if (format === 'safetensors') {
    const r = exportSafetensors(input, outDir, opts.dtype, opts.task);
    return r.files.map((f, i) => ({
      format: 'safetensors' as const,
      path: f.path,
      bytes: f.bytes,
      source: r.checkpoint,
      ...(i === 0 && r.warnings.length ? { warnings: r.warnings } : {}),
    }));
  }
  if (format === 'transformers.js') {
    const r = exportTransformersJs(input, outDir, opts.task);
    const source = r.sources.join(', ');
    return r.files.map((f, i) => ({ format, path: f.path, bytes: f.bytes, source, ...(i === 0 && r.warnings.length ? { warnings: r.warnings } : {}) }));
  }
  const source = sourceOf(input, opts.task);
  // The output is checked before any checkpoint is read: a wrong --out fails at once.
  const dir = resolve(outDir ?? source.runLike ?? '.');
  checkOutputDirectory(dir, '--out');
  const loaded = sourcesFor(input, source, format);
  const { sources, origin, metadata } = buildModelSources(loaded, { sourceCheckpoint: true });

  await selectBackend(opts.backend ?? 'auto');
  // Replaces only files prune-once wrote there (a run's, or an earlier export's): util/owned-dir.ts.
  // A run marked by an older prune-once (no list of files) gets its list first, from its verified results.
  if (existsSync(join(dir, RUN_MARKER))) prepareRunDir(dir);
  const files = await withTrackedWrites(dir, markOutputFolder(dir, RUN_MARKER), () =>
    writeModelFiles({
      outDir: dir,
      sources,
      metadata,
      checkBatches: () => [probeBatch((sources.qat?.snapshot ?? sources.student ?? sources.teacher)!)],
    }),
  );
  return files.map((f) => {
    const { logits: _l, predictions: _p, ...check } = f.check!;
    return { format: f.kind, path: f.path, bytes: f.bytes, source: origin(f.kind).path, check };
  });
}
