/**
 * `export --format safetensors`: which checkpoint, tokenizer and labels a run directory or a
 * checkpoint file stands for, then the Hugging Face directory (config.json, model.safetensors,
 * vocab.txt, tokenizer_config.json; see ./hf.ts).
 *
 * The tokenizer is looked for, in order: in the checkpoint itself (`prune-once import` stores it),
 * in the run the checkpoint belongs to (by the run's own rule, src/run/tokenizer.ts, from its
 * pipeline.json), next to the checkpoint. Without one, the weights and config are still written and
 * a warning says so.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadCheckpoint } from '../checkpoint/format.js';
import { storedTokenizer } from '../import/convert.js';
import { HF_TOKENIZER_FILES, readHfTokenizer } from '../import/hf-tokenizer.js';
import { HF_EXPORT_DIR, HF_TOKENIZER_STAGE, MODEL_SOURCE_STAGE, modelPath, runFile, stageDir } from '../run/layout.js';
import { runTokenizer, type TokenizerSettings } from '../run/tokenizer.js';
import { exportHfDirectory, type HfExportOptions, type HfExportResult } from './hf.js';

export type TokenizerInfo = NonNullable<HfExportOptions['tokenizer']> & { source: string };

/** The run directory a checkpoint belongs to (`<run>/<stage>/model.ckpt`), if it is one. */
export function runDirOf(checkpoint: string): string | null {
  const run = dirname(dirname(checkpoint));
  return existsSync(runFile(run, 'pipeline')) ? run : null;
}

/** What `export` reads of a run's pipeline.json. */
interface SavedPipeline {
  source?: string;
  pipeline?: { tokenizer?: TokenizerSettings; stages?: { teacher?: { from?: string } } };
}

export function fromRunDir(runDir: string, warnings: string[]): TokenizerInfo | null {
  let saved: SavedPipeline;
  try {
    saved = JSON.parse(readFileSync(runFile(runDir, 'pipeline'), 'utf8')) as SavedPipeline;
  } catch {
    return null;
  }
  const settings = saved.pipeline?.tokenizer;
  if (!settings) return null;
  // A Hugging Face teacher's tokenizer is the copy its stage kept in the run.
  const teacherDir = stageDir(runDir, HF_TOKENIZER_STAGE);
  const hfDir = saved.pipeline?.stages?.teacher?.from && existsSync(join(teacherDir, HF_TOKENIZER_FILES.vocab)) ? teacherDir : undefined;
  try {
    const t = runTokenizer({ settings, runDir, hfDir, searchDirs: saved.source ? [dirname(saved.source)] : [] });
    return { vocab: t.vocab, lowercase: t.lowercase, source: t.vocabSource };
  } catch (e) {
    warnings.push(`the run's tokenizer could not be read: ${(e as Error).message}`);
    return null;
  }
}

export interface SafetensorsExport extends HfExportResult {
  checkpoint: string;
  tokenizerSource: string | null;
}

/**
 * Exports a run directory (the model of its transfer stage: the sparse fine-tuned model before QAT,
 * in float32) or one checkpoint, as a Hugging Face directory. Default output: `<run>/huggingface`,
 * or `huggingface/` next to the checkpoint.
 */
export function exportSafetensors(input: string, outDir?: string, dtype?: HfExportOptions['dtype']): SafetensorsExport {
  const path = resolve(input);
  if (!existsSync(path)) throw new Error(`${input}: no such run directory or checkpoint`);
  const isRun = statSync(path).isDirectory();
  const checkpoint = isRun ? modelPath(stageDir(path, MODEL_SOURCE_STAGE.fp32)) : path;
  if (isRun && !existsSync(checkpoint)) {
    throw new Error(
      `${input}: ${checkpoint} not found; the ${MODEL_SOURCE_STAGE.fp32} stage of this run has not finished (or export another stage's checkpoint, e.g. ${modelPath(stageDir(input, 'prune-distill'))})`,
    );
  }
  const ckpt = loadCheckpoint(checkpoint);
  const runDir = isRun ? path : runDirOf(checkpoint);
  const warnings: string[] = [];
  let tokenizer: TokenizerInfo | null = storedTokenizer(ckpt.state);
  if (!tokenizer && runDir) tokenizer = fromRunDir(runDir, warnings);
  if (!tokenizer && existsSync(join(dirname(checkpoint), HF_TOKENIZER_FILES.vocab))) {
    const t = readHfTokenizer(dirname(checkpoint)).tokenizer;
    tokenizer = { vocab: t.vocab, lowercase: t.lowercase, source: t.vocabSource };
  }
  const labels = Array.isArray(ckpt.state.labels) ? (ckpt.state.labels as unknown[]).map(String) : undefined;
  const out = resolve(outDir ?? join(isRun ? path : dirname(checkpoint), HF_EXPORT_DIR));
  const result = exportHfDirectory({ config: ckpt.config, weights: ckpt.weights }, out, { tokenizer: tokenizer ?? undefined, labels, dtype });
  return { ...result, warnings: [...warnings, ...result.warnings], checkpoint, tokenizerSource: tokenizer?.source ?? null };
}
