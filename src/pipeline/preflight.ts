/**
 * Checks a run makes after loading its pipeline and choosing the backend, before its run directory
 * is touched or any stage trains: what the schema cannot see because it needs a file or the
 * backend. Each refusal names the pipeline file, the field, the limit and the fix:
 *  - sequence lengths within an imported teacher's positions (config.json or the checkpoint);
 *  - every user task's files load, with at least two classes in the training file;
 *  - each training stage's batch fits the memory one thread's step can reach (the 4096 MB wasm
 *    heap per thread, or this machine's memory on the other backends), as rows per
 *    forward/backward after `train.threads` and `train.microBatch`, with `train.recompute`;
 *  - the batch's rows themselves fit the JavaScript heap.
 */
import { existsSync, readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import type { BackendName } from '../backend/select.js';
import { readCheckpointConfig } from '../checkpoint/format.js';
import { parseHfConfig } from '../import/hf-config.js';
import { isHfDirectory } from '../import/import-hf.js';
import { presetShape } from '../model/config.js';
import { rowsThatFit, stepMemory, type ModelShape, type StepShape } from '../train/memory-estimate.js';
import { WASM_HEAP_LIMIT_MB } from '../train/memory-watch.js';
import { resolveThreads } from '../train/parallel.js';
import { loadTaskAt } from './context.js';
import { ConfigError } from './load.js';
import { sequenceLengths, type Pipeline } from './pipeline-schema.js';
import type { TrainSettings } from './schema.js';

const MB = 2 ** 20;
const mb = (bytes: number) => `${Math.ceil(bytes / MB)} MB`;
/** The BERT uncased vocabulary's size (tokenizer.vocab: bert-base-uncased). */
const BERT_UNCASED_SIZE = 30522;

/** Throws a ConfigError listing every problem, or returns. */
export function preflight(pipeline: Pipeline, file: string, backend: BackendName): void {
  const problems: string[] = [];
  const teacher = teacherShape(pipeline, problems);
  if (teacher && pipeline.stages.teacher?.from) {
    for (const [field, seqLen] of sequenceLengths(pipeline)) {
      if (seqLen > teacher.shape.maxPositions)
        problems.push(
          `${field}: ${seqLen} tokens is above ${teacher.positionsField} (${teacher.shape.maxPositions}), the longest sequence the model takes; lower ${field}`,
        );
    }
  }
  for (const [field, t] of userTasks(pipeline)) {
    try {
      loadTaskAt(t, pipeline.seed, field);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (teacher && problems.length === 0) problems.push(...memoryProblems(pipeline, teacher.shape, backend));
  if (problems.length) throw new ConfigError(`${file}: cannot run:\n  - ${problems.join('\n  - ')}`);
}

/** The teacher's shape, from its preset or from the model it is loaded from; null when unknown. */
function teacherShape(p: Pipeline, problems: string[]): { shape: ModelShape; positionsField: string } | null {
  const t = p.stages.teacher;
  if (!t) return null;
  try {
    if (t.from && isHfDirectory(t.from)) {
      const path = join(t.from, 'config.json');
      return { shape: parseHfConfig(JSON.parse(readFileSync(path, 'utf8')), path).config, positionsField: `max_position_embeddings of ${path}` };
    }
    if (t.from) return { shape: readCheckpointConfig(t.from), positionsField: `maxPositions of ${t.from}` };
  } catch (e) {
    problems.push(`stages.teacher.from: ${(e as Error).message}`);
    return null;
  }
  const vocab = vocabSize(p);
  if (vocab === null) return null;
  return {
    shape: { ...presetShape(t.model.preset), vocabSize: vocab, maxPositions: t.model.maxPositions },
    positionsField: 'stages.teacher.model.maxPositions',
  };
}

/** Entries of the vocabulary a preset teacher gets (corpus-subset: at most tokenizer.size). */
function vocabSize(p: Pipeline): number | null {
  const v = p.tokenizer.vocab;
  if (v === 'corpus-subset') return p.tokenizer.size;
  if (v === 'bert-base-uncased') return BERT_UNCASED_SIZE;
  if (!existsSync(v)) return null; // the tokenizer reports it, naming the file
  return readFileSync(v, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '').length;
}

/** The tasks a run reads from user files (tsv, jsonl), with their field paths. */
function userTasks(p: Pipeline): Array<[string, Pipeline['task']]> {
  const taskStages = sequenceLengths(p).length > 1;
  if (!taskStages) return [];
  const all: Array<[string, Pipeline['task']]> = p.tasks ? Object.entries(p.tasks).map(([n, t]) => [`tasks.${n}`, t]) : [['task', p.task]];
  return all.filter(([, t]) => t.kind === 'tsv' || t.kind === 'jsonl');
}

interface TrainingStage {
  name: string;
  train: TrainSettings;
  model: ModelShape;
  objective: StepShape['objective'];
  teacher?: ModelShape;
  /** The sequence lengths it trains on, with their fields. */
  seqs: Array<[string, number]>;
}

/** Every training stage whose model shape is known before the run. */
function trainingStages(p: Pipeline, teacher: ModelShape): TrainingStage[] {
  const s = p.stages;
  const [corpus, ...tasks] = sequenceLengths(p);
  const out: TrainingStage[] = [];
  if (s.teacher?.train) out.push({ name: 'teacher', train: s.teacher.train, model: teacher, objective: 'mlm', seqs: [corpus] });
  const pd = s['prune-distill'];
  // A student taken from an earlier run (`from`) has a shape known only from that file.
  if (pd?.from) return out;
  const student = pd && pd.student !== 'teacher' ? { ...teacher, ...presetShape(pd.student) } : teacher;
  if (pd?.train)
    out.push({ name: 'prune-distill', train: pd.train, model: student, objective: 'mlm', teacher: pd.distill.enabled ? teacher : undefined, seqs: [corpus] });
  // Without train, finetune-teacher takes a classifier as is: it trains nothing.
  const ft = s['finetune-teacher']?.train;
  if (ft) out.push({ name: 'finetune-teacher', train: ft, model: teacher, objective: 'classification', seqs: tasks });
  for (const name of ['transfer', 'qat'] as const) {
    const st = s[name];
    if (st) out.push({ name, train: st.train, model: student, objective: 'classification', teacher: st.distill.enabled ? teacher : undefined, seqs: tasks });
  }
  return out;
}

function memoryProblems(p: Pipeline, teacher: ModelShape, backend: BackendName): string[] {
  const limit = backend === 'wasm' ? WASM_HEAP_LIMIT_MB * MB : totalmem();
  const where = backend === 'wasm' ? `the wasm heap limit of ${WASM_HEAP_LIMIT_MB} MB per thread` : `this machine's ${mb(totalmem())} of memory`;
  const jsHeap = getHeapStatistics().heap_size_limit;
  const out: string[] = [];
  for (const st of trainingStages(p, teacher)) {
    const f = `stages.${st.name}.train`;
    const { batchSize, microBatch } = st.train;
    const recompute = st.train.recompute ?? 'none';
    const threads = resolveThreads(st.train.threads, backend);
    const share = Math.ceil(batchSize / threads);
    const rows = microBatch > 0 ? Math.min(microBatch, share) : share;
    for (const [seqField, seq] of st.seqs) {
      // The batch's rows are built in JavaScript (ids, mask, types, labels: 4 arrays of numbers).
      const batchBytes = batchSize * seq * 4 * 8;
      if (batchBytes > jsHeap) {
        out.push(
          `${f}.batchSize: ${batchSize} rows of ${seq} tokens (${seqField}) take at least ${mb(batchBytes)} in JavaScript, above its heap limit of ${mb(jsHeap)}; lower ${f}.batchSize`,
        );
        continue;
      }
      const mem = stepMemory({ model: st.model, seq, objective: st.objective, recompute, teacher: st.teacher });
      const need = mem.fixedBytes + rows * mem.bytesPerRow;
      if (need <= limit) continue;
      const fit = rowsThatFit(mem, limit);
      const what = `${rows === share ? `${batchSize} rows${threads > 1 ? ` (${share} per thread over ${threads} threads)` : ''}` : `${rows} rows per forward/backward`} of ${seq} tokens (${seqField})`;
      const needs = `need at least ${mb(need)} on one thread for ${describe(st)}, above ${where}`;
      if (fit === 0) {
        out.push(
          `${f}: one row of ${seq} tokens (${seqField}) needs at least ${mb(mem.fixedBytes + mem.bytesPerRow)} for ${describe(st)}, above ${where}; lower ${seqField} or use a smaller model`,
        );
      } else if (microBatch > 0) {
        out.push(`${f}.microBatch: ${what} ${needs}; set ${f}.microBatch to at most ${fit}${recompute === 'none' ? `, or set ${f}.recompute: layers` : ''}`);
      } else {
        const withRecompute =
          recompute === 'none'
            ? rowsThatFit(stepMemory({ model: st.model, seq, objective: st.objective, recompute: 'layers', teacher: st.teacher }), limit)
            : 0;
        out.push(
          `${f}.batchSize: ${what} ${needs}; set ${f}.microBatch to at most ${fit} (rows per forward/backward; the optimizer still steps once per batch)` +
            `${withRecompute > fit ? `, or at most ${withRecompute} with ${f}.recompute: layers` : ''}, or lower ${f}.batchSize`,
        );
      }
    }
  }
  return out;
}

function describe(st: TrainingStage): string {
  const m = st.model;
  return `a ${m.numLayers}-layer, hidden-${m.hiddenSize} model${st.objective === 'mlm' ? ` with MLM logits over ${m.vocabSize} words` : ''}${st.teacher ? ' and its distillation teacher' : ''}`;
}
