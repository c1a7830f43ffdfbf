/**
 * `prune-once export`: ONNX files from a run directory or from a single checkpoint, through the
 * same exporter and checks as the pipeline's export stage (src/export/model-files.ts). From a run
 * directory it writes what the stage writes: the dense teacher (finetune-teacher), the sparse fp32
 * student (transfer), the int8 student and its other-embedding variant (qat). The checks run on a
 * seeded probe batch (the CLI has no task data): ONNX Runtime against the tfjs forward, and
 * onnxruntime-web against onnxruntime-node for the int8 files.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { selectBackend } from './backend/select.js';
import { loadCheckpoint, type Checkpoint } from './checkpoint/format.js';
import { exportSafetensors } from './export/hf-source.js';
import { exportTransformersJs } from './export/transformers-js.js';
import { probeBatch, writeModelFiles, type FileCheck, type ModelSources } from './export/model-files.js';
import { consumerMetadata } from './onnx/index.js';
import { quantizationFromJson } from './quant/serialize.js';
import { MODEL_SOURCE_STAGE, modelPath, stageDir, type OnnxFormat } from './run/layout.js';
import { checkOutputDirectory } from './util/fs.js';
import { TOOL_VERSION } from './version.js';

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

interface Loaded {
  checkpoint: Checkpoint;
  path: string;
}

function load(path: string): Loaded {
  return { checkpoint: loadCheckpoint(path), path };
}

/** Checkpoints per role: from a run directory (by stage) or one checkpoint file. */
function sourcesFor(
  input: string,
  format: Exclude<ExportFormatOption, 'safetensors' | 'transformers.js'>,
): { teacher?: Loaded; student?: Loaded; qat?: Loaded } {
  const path = resolve(input);
  if (!existsSync(path)) throw new Error(`${input}: no such run directory or checkpoint`);
  const wantFp32 = format !== 'int8';
  const wantInt8 = format !== 'fp32';
  if (statSync(path).isDirectory()) {
    const stage = (name: string) => {
      const ckpt = modelPath(stageDir(path, name));
      if (!existsSync(ckpt)) throw new Error(`${input}: ${ckpt} not found; the ${name} stage of this run has not finished (run the pipeline first)`);
      return load(ckpt);
    };
    const teacherPath = modelPath(stageDir(path, MODEL_SOURCE_STAGE.teacher));
    return {
      ...(format === 'both' && existsSync(teacherPath) ? { teacher: load(teacherPath) } : {}),
      ...(wantFp32 ? { student: stage(MODEL_SOURCE_STAGE.fp32) } : {}),
      ...(wantInt8 ? { qat: stage(MODEL_SOURCE_STAGE.int8) } : {}),
    };
  }
  const one = load(path);
  const quantized = !!one.checkpoint.state.quantization;
  if (format === 'int8' && !quantized) {
    throw new Error(
      `${path}: checkpoint has no quantization parameters, so it cannot be exported as int8; export the qat stage's checkpoint, or use --format fp32`,
    );
  }
  return { ...(wantFp32 ? { student: one } : {}), ...(wantInt8 && quantized ? { qat: one } : {}) };
}

export async function exportModel(
  input: string,
  format: ExportFormatOption,
  outDir?: string,
  opts: { backend?: string; dtype?: 'F32' | 'F16' | 'BF16' } = {},
): Promise<ExportedFile[]> {
  // Hugging Face directory (config.json, model.safetensors, vocab.txt): one entry per file written.
  if (format === 'safetensors') {
    const r = exportSafetensors(input, outDir, opts.dtype);
    return r.files.map((f, i) => ({
      format: 'safetensors' as const,
      path: f.path,
      bytes: f.bytes,
      source: r.checkpoint,
      ...(i === 0 && r.warnings.length ? { warnings: r.warnings } : {}),
    }));
  }
  if (format === 'transformers.js') {
    const r = exportTransformersJs(input, outDir);
    const source = r.sources.join(', ');
    return r.files.map((f, i) => ({ format, path: f.path, bytes: f.bytes, source, ...(i === 0 && r.warnings.length ? { warnings: r.warnings } : {}) }));
  }
  const loaded = sourcesFor(input, format);
  const dir = resolve(outDir ?? (statSync(resolve(input)).isDirectory() ? input : '.'));
  checkOutputDirectory(dir, '--out');
  const snap = (l: Loaded) => ({ config: l.checkpoint.config, weights: l.checkpoint.weights });
  const sources: ModelSources = {
    ...(loaded.teacher ? { teacher: snap(loaded.teacher) } : {}),
    ...(loaded.student ? { student: snap(loaded.student) } : {}),
    ...(loaded.qat ? { qat: { snapshot: snap(loaded.qat), quantization: quantizationFromJson(loaded.qat.checkpoint.state.quantization) } } : {}),
  };
  const origin = new Map<OnnxFormat, Loaded>();
  if (loaded.teacher) origin.set('teacher', loaded.teacher);
  if (loaded.student) origin.set('fp32', loaded.student);
  if (loaded.qat) {
    origin.set('int8', loaded.qat);
    origin.set('int8_alt', loaded.qat);
  }
  // Metadata from the checkpoint each file comes from (the teacher's carries no tokenizer state of its own).
  const ofConfig = new Map([...origin.values()].map((l) => [l.checkpoint.config, l]));
  const labelsFallback = (loaded.student ?? loaded.qat)?.checkpoint.state;

  await selectBackend(opts.backend ?? 'auto');
  const files = await writeModelFiles({
    outDir: dir,
    sources,
    metadata: (s) => {
      const l = ofConfig.get(s.config)!;
      const st = l.checkpoint.state;
      return consumerMetadata({
        toolVersion: TOOL_VERSION,
        config: s.config,
        labels: (st.labels as string[] | undefined) ?? (labelsFallback?.labels as string[] | undefined) ?? [],
        tokenizer: st.tokenizer ?? labelsFallback?.tokenizer,
        maxSequenceLength: (st.maxSequenceLength ?? labelsFallback?.maxSequenceLength) as number | undefined,
        sourceCheckpoint: basename(l.path),
      });
    },
    checkBatches: () => [probeBatch((sources.qat?.snapshot ?? sources.student ?? sources.teacher)!)],
  });
  return files.map((f) => {
    const { logits: _l, predictions: _p, ...check } = f.check!;
    return { format: f.kind, path: f.path, bytes: f.bytes, source: origin.get(f.kind)!.path, check };
  });
}
