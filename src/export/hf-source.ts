/**
 * `export --format safetensors`: which checkpoint, tokenizer and labels a run directory or a
 * checkpoint file stands for, then the Hugging Face directory (config.json, model.safetensors,
 * vocab.txt, tokenizer_config.json; see ./hf.ts).
 *
 * The tokenizer is looked for, in order: in the checkpoint itself (`prune-once import` stores it),
 * in the run the checkpoint belongs to (by the run's own rule, src/run/tokenizer.ts, from its
 * pipeline.json; a task's checkpoint in a multi-task run belongs to that run), next to the checkpoint,
 * then the one the checkpoint's state records (BERT uncased, or a vocab file that is still there). Without one, the weights and config are still written and
 * a warning says so.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { labelsOf } from '../checkpoint/state.js';
import { HF_TOKENIZER_FILES, readHfTokenizer } from '../import/hf-tokenizer.js';
import { HF_EXPORT_DIR, MODEL_SOURCE_STAGE, modelPath, RUN_FILES, RUN_MARKER, stageDir } from '../run/layout.js';
import { resolveScope } from '../run/locate.js';
import { recordedTokenizer, savedRunTokenizer } from '../run/tokenizer.js';
import type { WordPieceTokenizer } from '../tokenizer/index.js';
import { markOutputFolder, stopTracking, trackWrites } from '../util/owned-dir.js';
import { exportHfDirectory, type HfExportOptions, type HfExportResult } from './hf.js';
import { readModelCheckpoint } from './sources.js';

type TokenizerInfo = NonNullable<HfExportOptions['tokenizer']> & { source: string };

export interface SafetensorsExport extends HfExportResult {
  checkpoint: string;
  tokenizerSource: string | null;
}

/**
 * Exports a run directory (the model of its transfer stage: the sparse fine-tuned model before QAT,
 * in float32) or one checkpoint, as a Hugging Face directory. Default output: `<run>/huggingface`,
 * or `huggingface/` next to the checkpoint.
 */
export function exportSafetensors(input: string, outDir?: string, dtype?: HfExportOptions['dtype'], task?: string): SafetensorsExport {
  const { located, scope } = resolveScope(input, task, 'export', 'run directory or checkpoint');
  const isRun = statSync(located.path).isDirectory();
  if (isRun && (!scope || located.kind === 'stage' || located.kind === 'other'))
    throw new Error(`${input}: not a run directory (no ${RUN_FILES.pipeline} here or in its run); give a run directory (artifacts/<name>) or a model.ckpt`);
  const dir = isRun ? scope!.dir : null;
  const checkpoint = dir ? modelPath(stageDir(dir, MODEL_SOURCE_STAGE.fp32)) : located.path;
  if (dir && !existsSync(checkpoint)) {
    throw new Error(
      `${input}: ${checkpoint} not found; the ${MODEL_SOURCE_STAGE.fp32} stage of this run has not finished (or export another stage's checkpoint, e.g. ${modelPath(stageDir(located.run!.dir, 'prune-distill'))})`,
    );
  }
  const ckpt = readModelCheckpoint(checkpoint).checkpoint;
  // The run the checkpoint belongs to (for a task's checkpoint, its multi-task run: vocab.txt and pipeline.json are there).
  const runDir = located.run?.dir ?? null;
  const warnings: string[] = [];
  let tokenizer: TokenizerInfo | null = ckpt.state.stage === 'import' ? ckpt.state.tokenizer : null;
  const found = (t: WordPieceTokenizer | null): TokenizerInfo | null => (t ? { vocab: t.vocab, lowercase: t.lowercase, source: t.vocabSource } : null);
  if (!tokenizer && runDir) tokenizer = found(savedRunTokenizer(runDir, (m) => warnings.push(m)));
  if (!tokenizer && existsSync(join(dirname(checkpoint), HF_TOKENIZER_FILES.vocab))) tokenizer = found(readHfTokenizer(dirname(checkpoint)).tokenizer);
  // Last, the tokenizer the checkpoint records (its source: BERT uncased, or a vocab file that is still here).
  if (!tokenizer && 'tokenizer' in ckpt.state) tokenizer = found(recordedTokenizer(ckpt.state.tokenizer));
  const labels = labelsOf(ckpt.state);
  const out = resolve(outDir ?? join(dir ?? dirname(checkpoint), HF_EXPORT_DIR));
  // Replaces only files an earlier export wrote there (util/owned-dir.ts), never one of the user's.
  trackWrites(out, markOutputFolder(out, RUN_MARKER));
  let result: ReturnType<typeof exportHfDirectory>;
  try {
    result = exportHfDirectory({ config: ckpt.config, weights: ckpt.weights }, out, { tokenizer: tokenizer ?? undefined, labels, dtype });
  } finally {
    stopTracking(out);
  }
  return { ...result, warnings: [...warnings, ...result.warnings], checkpoint, tokenizerSource: tokenizer?.source ?? null };
}
