/**
 * What the stages of one run share: the run directory, the settings, and the data, each loaded once
 * and only when a stage needs it (a run whose stages are all up to date loads no data at all).
 */
import { resolve } from 'node:path';
import type { BackendInfo } from '../backend/select.js';
import { DataFileError, encodeExamples, loadTask, packSequences, sotuDocuments, splitDocuments, textFileDocuments, type TaskSpec } from '../data/index.js';
import type { EncodedExamples, MlmCorpus, TaskData } from '../data/types.js';
import { isHfDirectory } from '../import/import-hf.js';
import { runTokenizer } from '../run/tokenizer.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { SharedSettings } from './schema.js';

/** What the context reads of a pipeline: the shared settings, and whether the teacher is imported. */
export type ContextSettings = SharedSettings & { stages: { teacher?: { from?: string } } };

export interface RunContext {
  runDir: string;
  pipeline: ContextSettings;
  backend: BackendInfo;
  quiet: boolean;
  log(message: string): void;
  tokenizer(): Tokenizer;
  corpus(): { train: MlmCorpus; heldOut: MlmCorpus; documents: number };
  task(): { data: TaskData; train: EncodedExamples; dev: EncodedExamples; test: EncodedExamples };
}

/**
 * Loads a task's data; a problem with one of its files is reported under the field that names the
 * file (`tasks.spam.train: spam.tsv: ...`). `field` is the task's path: `task` or `tasks.<name>`.
 */
export function loadTaskAt(t: SharedSettings['task'], seed: number, field: string): TaskData {
  let spec: TaskSpec;
  if (t.kind === 'tsv' || t.kind === 'jsonl') {
    if (!t.train || !t.dev) throw new Error(`${field}.kind '${t.kind}' needs ${field}.train and ${field}.dev file paths (${field}.test is optional)`);
    spec = { kind: t.kind, train: t.train, dev: t.dev, test: t.test, seed };
  } else spec = { kind: t.kind, seed, maxPerSplit: t.maxPerSplit };
  try {
    return loadTask(spec);
  } catch (e) {
    if (!(e instanceof DataFileError)) throw e;
    const which = (['train', 'dev', 'test'] as const).find((k) => t[k] !== undefined && resolve(t[k]!) === resolve(e.file));
    throw new Error(`${field}${which ? `.${which}` : ''}: ${e.message}`, { cause: e });
  }
}

export interface ContextOptions {
  /** The tokenizer of the run this context is part of (a task of a multi-task run shares the run's). */
  tokenizer?: () => Tokenizer;
  /** The task's path in the pipeline file, for messages: `task` (default) or `tasks.<name>`. */
  taskField?: string;
}

export function createContext(runDir: string, pipeline: ContextSettings, backend: BackendInfo, quiet = false, opts: ContextOptions = {}): RunContext {
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
      corpusDocs = splitDocuments(docs, { heldOutFraction: pipeline.corpus.heldOutFraction, seed: pipeline.seed, source: `corpus.source: ${src}` });
    }
    return corpusDocs;
  };
  const loadTaskData = () => (taskData ??= loadTaskAt(pipeline.task, pipeline.seed, opts.taskField ?? 'task'));

  const ctx: RunContext = {
    runDir,
    pipeline,
    backend,
    quiet,
    log: (m) => {
      if (!quiet) process.stderr.write(`${m}\n`);
    },
    tokenizer() {
      if (opts.tokenizer) return opts.tokenizer();
      const from = pipeline.stages.teacher?.from;
      tokenizer ??= runTokenizer({
        settings: pipeline.tokenizer,
        runDir,
        hfDir: from && isHfDirectory(from) ? from : undefined,
        // A multi-task run's vocabulary comes from the corpus alone, so the sparse pre-trained model
        // does not depend on its tasks and a task added later reuses it.
        subsetTexts: () => [
          ...documents().train.map((d) => d.text),
          ...(pipeline.tasks ? [] : loadTaskData().train.flatMap((e) => (e.textPair ? [e.text, e.textPair] : [e.text]))),
        ],
        log: ctx.log,
      });
      return tokenizer;
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
        task = {
          data,
          train: encodeExamples(tok, data.train, seqLen),
          dev: encodeExamples(tok, data.dev, seqLen),
          test: encodeExamples(tok, data.test, seqLen),
        };
      }
      return task;
    },
  };
  return ctx;
}
