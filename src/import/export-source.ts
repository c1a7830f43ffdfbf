/**
 * `export --format safetensors`: which checkpoint, tokenizer and labels a run directory or a
 * checkpoint file stands for, then the Hugging Face directory.
 *
 * The tokenizer is looked for, in order: in the checkpoint itself (`prune-once import` stores it),
 * in the run's teacher stage (a Hugging Face teacher leaves its vocab.txt and tokenizer_config.json
 * there), in the run's pipeline.json (tokenizer.vocab), next to the checkpoint. Without one, the
 * weights and config are still written and a warning says so.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadCheckpoint } from '../checkpoint/format.js';
import { bertUncasedVocab, loadVocabFile } from '../tokenizer/index.js';
import { exportHfDirectory, type HfExportOptions, type HfExportResult } from './export-hf.js';
import { readHfTokenizer } from './hf-tokenizer.js';

type TokenizerInfo = NonNullable<HfExportOptions['tokenizer']> & { source: string };

/** What `prune-once import` stores in a checkpoint's state. */
export interface StoredTokenizer {
  vocab: string[];
  lowercase: boolean;
  source: string;
}

export function storedTokenizer(state: Record<string, unknown>): StoredTokenizer | null {
  const t = state.tokenizer as Partial<StoredTokenizer> | undefined;
  if (!t || !Array.isArray(t.vocab) || typeof t.lowercase !== 'boolean') return null;
  return { vocab: t.vocab, lowercase: t.lowercase, source: String(t.source ?? 'checkpoint') };
}

/** The run directory a checkpoint belongs to (`<run>/<stage>/model.ckpt`), if it is one. */
function runDirOf(checkpoint: string): string | null {
  const run = dirname(dirname(checkpoint));
  return existsSync(join(run, 'pipeline.json')) ? run : null;
}

function fromRunDir(runDir: string): TokenizerInfo | null {
  let saved: { source?: string; pipeline?: { tokenizer?: { vocab?: string }; stages?: { teacher?: { from?: string } } } };
  try {
    saved = JSON.parse(readFileSync(join(runDir, 'pipeline.json'), 'utf8')) as typeof saved;
  } catch {
    return null;
  }
  const teacherDir = join(runDir, 'teacher');
  if (saved.pipeline?.stages?.teacher?.from && existsSync(join(teacherDir, 'vocab.txt'))) {
    const t = readHfTokenizer(teacherDir).tokenizer;
    return { vocab: t.vocab, lowercase: t.lowercase, source: t.vocabSource };
  }
  const v = saved.pipeline?.tokenizer?.vocab;
  if (v === 'bert-base-uncased') return { vocab: bertUncasedVocab(), lowercase: true, source: 'bert-base-uncased' };
  // The pipeline context lower-cases for every vocabulary given by path (and for the corpus subset).
  const path = v === 'corpus-subset' ? join(runDir, 'vocab.txt') : v ? [resolve(v), resolve(dirname(saved.source ?? '.'), v)].find((p) => existsSync(p)) : undefined;
  if (path && existsSync(path)) return { vocab: loadVocabFile(path), lowercase: true, source: path };
  return null;
}

export interface SafetensorsExport extends HfExportResult {
  checkpoint: string;
  tokenizerSource: string | null;
}

/**
 * Exports a run directory (its transfer stage: the sparse fine-tuned fp32 model, as `model.fp32.onnx`)
 * or one checkpoint. Default output: `<run>/huggingface`, or `huggingface/` next to the checkpoint.
 */
export function exportSafetensors(input: string, outDir?: string, dtype?: HfExportOptions['dtype']): SafetensorsExport {
  const path = resolve(input);
  if (!existsSync(path)) throw new Error(`${input}: no such run directory or checkpoint`);
  const isRun = statSync(path).isDirectory();
  const checkpoint = isRun ? join(path, 'transfer', 'model.ckpt') : path;
  if (isRun && !existsSync(checkpoint)) {
    throw new Error(`${input}: ${checkpoint} not found; the transfer stage of this run has not finished (or export another stage's checkpoint, e.g. ${join(input, 'prune-distill', 'model.ckpt')})`);
  }
  const ckpt = loadCheckpoint(checkpoint);
  const runDir = isRun ? path : runDirOf(checkpoint);
  let tokenizer: TokenizerInfo | null = null;
  const stored = storedTokenizer(ckpt.state);
  if (stored) tokenizer = stored;
  if (!tokenizer && runDir) tokenizer = fromRunDir(runDir);
  if (!tokenizer && existsSync(join(dirname(checkpoint), 'vocab.txt'))) {
    const t = readHfTokenizer(dirname(checkpoint)).tokenizer;
    tokenizer = { vocab: t.vocab, lowercase: t.lowercase, source: t.vocabSource };
  }
  const labels = Array.isArray(ckpt.state.labels) ? (ckpt.state.labels as unknown[]).map(String) : undefined;
  const out = resolve(outDir ?? (isRun ? join(path, 'huggingface') : join(dirname(checkpoint), 'huggingface')));
  const result = exportHfDirectory({ config: ckpt.config, weights: ckpt.weights }, out, { tokenizer: tokenizer ?? undefined, labels, dtype });
  return { ...result, checkpoint, tokenizerSource: tokenizer?.source ?? null };
}
