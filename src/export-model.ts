/**
 * `prune-once export`: ONNX files from a run directory (fp32 from the transfer stage, int8 from the
 * qat stage) or from a single checkpoint file.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadCheckpoint } from './checkpoint/format.js';
import { exportSafetensors } from './import/export-source.js';
import { consumerMetadata, exportOnnx } from './onnx/index.js';
import { quantizationFromJson } from './quant/serialize.js';
import { writeFileAtomic } from './util/fs.js';
import { TOOL_VERSION } from './version.js';

/** 'safetensors': a Hugging Face BERT directory (see src/import/export-source.ts). */
export type ExportFormatOption = 'int8' | 'fp32' | 'both' | 'safetensors';

export interface ExportedFile {
  format: 'fp32' | 'int8' | 'safetensors';
  path: string;
  bytes: number;
  source: string;
  /** Things the user should know about this file (safetensors: e.g. the tokenizer was not found). */
  warnings?: string[];
}

function sourcesFor(input: string, format: Exclude<ExportFormatOption, 'safetensors'>): Array<{ format: 'fp32' | 'int8'; checkpoint: string }> {
  const path = resolve(input);
  if (!existsSync(path)) throw new Error(`${input}: no such run directory or checkpoint`);
  const formats: Array<'fp32' | 'int8'> = format === 'both' ? ['fp32', 'int8'] : [format];
  if (statSync(path).isDirectory()) {
    return formats.map((f) => {
      const checkpoint = join(path, f === 'fp32' ? 'transfer' : 'qat', 'model.ckpt');
      if (!existsSync(checkpoint)) {
        throw new Error(`${input}: ${checkpoint} not found; ${f === 'fp32' ? 'the transfer stage' : 'the qat stage'} of this run has not finished (run the pipeline first)`);
      }
      return { format: f, checkpoint };
    });
  }
  return formats.map((f) => ({ format: f, checkpoint: path }));
}

export function exportModel(input: string, format: ExportFormatOption, outDir?: string, opts: { dtype?: 'F32' | 'F16' | 'BF16' } = {}): ExportedFile[] {
  // Hugging Face directory (config.json, model.safetensors, vocab.txt): one entry per file written.
  if (format === 'safetensors') {
    const r = exportSafetensors(input, outDir, opts.dtype);
    return r.files.map((f, i) => ({ format: 'safetensors' as const, path: f.path, bytes: f.bytes, source: r.checkpoint, ...(i === 0 && r.warnings.length ? { warnings: r.warnings } : {}) }));
  }
  const sources = sourcesFor(input, format);
  const dir = resolve(outDir ?? (statSync(resolve(input)).isDirectory() ? input : '.'));
  const out: ExportedFile[] = [];
  for (const s of sources) {
    const ckpt = loadCheckpoint(s.checkpoint);
    if (ckpt.config.numLabels === 0) throw new Error(`${s.checkpoint}: the model has no classification head; export a fine-tuned checkpoint (transfer or qat)`);
    const q = ckpt.state.quantization ? quantizationFromJson(ckpt.state.quantization) : undefined;
    if (s.format === 'int8' && !q) {
      throw new Error(`${s.checkpoint}: checkpoint has no quantization parameters, so it cannot be exported as int8; export the qat stage's checkpoint, or use --format fp32`);
    }
    const labels = (ckpt.state.labels as string[] | undefined) ?? [];
    const { bytes } = exportOnnx({
      snapshot: { config: ckpt.config, weights: ckpt.weights },
      format: s.format,
      quantization: s.format === 'int8' ? q : undefined,
      metadata: consumerMetadata({
        toolVersion: TOOL_VERSION,
        config: ckpt.config,
        labels,
        tokenizer: ckpt.state.tokenizer,
        maxSequenceLength: ckpt.state.maxSequenceLength as number | undefined,
        sourceCheckpoint: basename(s.checkpoint),
      }),
    });
    const path = join(dir, `model.${s.format}.onnx`);
    writeFileAtomic(path, bytes);
    out.push({ format: s.format, path, bytes: bytes.length, source: s.checkpoint });
  }
  return out;
}
