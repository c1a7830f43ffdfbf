/**
 * Which tokenizer a run uses: one rule, followed by the run itself and by `export --format
 * safetensors` of a finished run.
 *  - A Hugging Face teacher (`teacher.from` is a directory) brings its own vocab.txt and casing: its
 *    embeddings are indexed by those ids, so `tokenizer.vocab` does not apply. (During the run that
 *    is the directory named; afterwards, the copy the teacher stage keeps in `<run>/teacher`.)
 *  - `bert-base-uncased`: the 30,522-entry BERT uncased vocabulary.
 *  - `corpus-subset`: `<run>/vocab.txt`, made once per run from the corpus and task texts, so every
 *    stage and the export use the same ids.
 *  - anything else: the path of a vocab.txt.
 * Every vocabulary but a Hugging Face teacher's is lower-cased (BERT uncased).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { HF_TOKENIZER_FILES, readHfTokenizer } from '../import/hf-tokenizer.js';
import { BERT_UNCASED_SOURCE, buildSubVocabulary, loadTokenizer, loadVocabFile, saveVocab, WordPieceTokenizer } from '../tokenizer/index.js';
import { HF_TOKENIZER_STAGE, runFile, stageDir } from './layout.js';

export interface TokenizerSettings {
  vocab: string;
  size: number;
}

export interface RunTokenizerOptions {
  settings: TokenizerSettings;
  runDir: string;
  /** The Hugging Face teacher's tokenizer directory, when the teacher is one. */
  hfDir?: string;
  /** Texts to build the corpus subset from when `<run>/vocab.txt` does not exist yet (omit: it must exist). */
  subsetTexts?: () => string[];
  /** Directories a relative vocabulary path may also be found in (after the working directory). */
  searchDirs?: string[];
  log?: (message: string) => void;
}

export function runTokenizer(o: RunTokenizerOptions): WordPieceTokenizer {
  const v = o.settings.vocab;
  if (o.hfDir) {
    const hf = readHfTokenizer(o.hfDir);
    for (const w of hf.warnings) o.log?.(`tokenizer: ${w}`);
    if (v !== 'corpus-subset') o.log?.(`tokenizer: tokenizer.vocab '${v}' ignored; using ${hf.vocabFile} (the Hugging Face teacher's vocabulary)`);
    return hf.tokenizer;
  }
  if (v === 'bert-base-uncased') return loadTokenizer();
  if (v === 'corpus-subset') {
    const path = runFile(o.runDir, 'vocab');
    if (!existsSync(path)) {
      if (!o.subsetTexts) throw new Error(`${path} not found: the run's corpus-subset vocabulary is made by its first stage (run the pipeline)`);
      saveVocab(path, buildSubVocabulary(loadTokenizer(), o.subsetTexts(), o.settings.size));
    }
    return new WordPieceTokenizer(loadVocabFile(path), { lowercase: true, vocabSource: `bert-base-uncased subset (${o.settings.size})` });
  }
  const path = [v, ...(o.searchDirs ?? []).map((d) => resolve(d, v))].find((p) => existsSync(p)) ?? v;
  return new WordPieceTokenizer(loadVocabFile(path), { lowercase: true, vocabSource: v });
}

/** What the rule needs of a finished run's pipeline.json. */
interface SavedPipeline {
  source?: string;
  pipeline?: { tokenizer?: TokenizerSettings; stages?: { teacher?: { from?: string } } };
}

/**
 * A finished run's tokenizer, by the same rule, from its pipeline.json (a multi-task run's is the
 * run directory's, shared by its tasks). Null when the run records none; `warn` hears why a
 * recorded one could not be read.
 */
export function savedRunTokenizer(runDir: string, warn: (message: string) => void = () => {}): WordPieceTokenizer | null {
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
    return runTokenizer({ settings, runDir, hfDir, searchDirs: saved.source ? [dirname(saved.source)] : [] });
  } catch (e) {
    warn(`the run's tokenizer could not be read: ${(e as Error).message}`);
    return null;
  }
}

/**
 * The tokenizer a model records of itself (`WordPieceTokenizer.describe()`, kept in its checkpoint
 * state and ONNX metadata), when it can be had without its run: BERT uncased, or a vocab file that
 * still exists. Null otherwise (a corpus-subset vocabulary is only in its run's vocab.txt).
 */
export function recordedTokenizer(recorded: unknown): WordPieceTokenizer | null {
  const r = recorded as { vocabSource?: unknown; lowercase?: unknown } | undefined;
  if (!r || typeof r.vocabSource !== 'string') return null;
  const lowercase = typeof r.lowercase === 'boolean' ? r.lowercase : true;
  if (r.vocabSource === BERT_UNCASED_SOURCE) return loadTokenizer({ lowercase });
  if (existsSync(r.vocabSource) && statSync(r.vocabSource).isFile()) return loadTokenizer({ vocabFile: r.vocabSource, lowercase });
  return null;
}
