/**
 * `compress`: the common case in one call. A fine-tuned Hugging Face sequence classifier and its
 * task files become a sparse int8 ONNX model: the classifier is the teacher, taken as is; a copy of
 * it is pruned to the target while it fine-tunes on the task with distillation from it (transfer
 * with pruning), then quantization-aware training and the export, as in any pipeline.
 *
 * Everything the user gave is checked before the run directory is touched (the classifier, the
 * files, the labels, the sparsity); the pipeline built here runs through runPipeline, which keeps it
 * in the run as pipeline.json, so `prune-once run <run>/pipeline.json --out <run>` redoes the run.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonlTask, tsvTask } from '../data/user-tasks.js';
import { classifierRowsForTask } from '../data/labels.js';
import { importHfDirectory } from '../import/import-hf.js';
import { ImportError } from '../import/errors.js';
import { readReport } from '../report/read.js';
import type { Report } from '../report/schema.js';
import { ONNX_FILES, onnxPath, runFile } from '../run/layout.js';
import { pipelineFromObject } from './load.js';
import type { Pipeline } from './pipeline-schema.js';
import { runPipeline, type RunSummary } from './run.js';

export interface CompressOptions {
  /** A fine-tuned BertForSequenceClassification directory (config.json with id2label, model.safetensors, vocab.txt). */
  model: string;
  /** Task files: TSV (header row with "sentence" and "label") or JSONL, by extension. */
  train: string;
  dev: string;
  /** Without it, dev is split in half into dev and test. */
  test?: string;
  /** Fraction of the encoder Linear weights set to zero, in [0, 1). Default 0.9. */
  sparsity?: number;
  /** Run directory (default artifacts/<pipeline name>). */
  outDir?: string;
  /** Overrides of the built pipeline, key=value, as `run --set` (e.g. stages.transfer.train.steps=300). */
  sets?: string[];
  backend?: string;
  quiet?: boolean;
}

export interface CompressResult {
  runDir: string;
  pipeline: Pipeline;
  summary: RunSummary;
  report: Report;
}

export const DEFAULT_SPARSITY = 0.9;

/** The training presets the main job uses (configs/train/), found beside the built or source tree. */
const CONFIGS = resolve(dirname(fileURLToPath(import.meta.url)), '../../configs/train');

/** The classifier's label names and positions, from its directory, checked to be a sequence classifier. */
function readClassifier(dir: string): { labels: string[]; maxPositions: number } {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new ImportError(
      `${dir}: no such directory; compress takes a fine-tuned Hugging Face classifier directory (config.json, model.safetensors, vocab.txt)`,
    );
  // Reads and checks every tensor (the teacher stage does it again): a bad directory fails here, before the run directory is made.
  const hf = importHfDirectory(dir);
  if (hf.heads.classifier !== 'imported') {
    throw new ImportError(
      `${join(dir, 'config.json')}: architectures ${JSON.stringify(hf.architectures)} and no classifier.weight in its weights: not a sequence classifier; ` +
        'compress takes a fine-tuned BertForSequenceClassification directory (to prune a pre-trained BERT while fine-tuning it, write a pipeline like pipelines/downstream.yaml)',
    );
  }
  return { labels: hf.labels, maxPositions: hf.snapshot.config.maxPositions };
}

/** The downstream pipeline for these inputs, every input checked; nothing is written. */
export function compressPipeline(o: CompressOptions): Pipeline {
  const sparsity = o.sparsity ?? DEFAULT_SPARSITY;
  if (!Number.isFinite(sparsity) || sparsity < 0 || sparsity >= 1)
    throw new RangeError(`--sparsity ${sparsity}: must be in [0, 1) (the fraction of encoder Linear weights set to zero), e.g. 0.9`);
  const model = resolve(o.model);
  const { labels, maxPositions } = readClassifier(model);
  const files = { train: resolve(o.train), dev: resolve(o.dev), ...(o.test ? { test: resolve(o.test) } : {}) };
  const kind = extname(files.train).toLowerCase() === '.jsonl' ? 'jsonl' : 'tsv';
  const task = (kind === 'jsonl' ? jsonlTask : tsvTask)(files);
  classifierRowsForTask(labels, task.labels, join(model, 'config.json'));
  const seqLen = Math.min(128, maxPositions);
  const distill = { temperature: 2, alphaTask: 0.5, alphaKd: 0.5 };
  const raw = {
    name: `compress-${basename(model).replace(/[^A-Za-z0-9._-]/g, '_')}`,
    description: `${model} pruned to ${sparsity} while fine-tuning on ${files.train}, int8`,
    seed: 42,
    task: { kind, ...files, seqLen },
    // Read only when the classifier has an MLM head (prune-once's own exports do): the teacher stage
    // then measures it on held-out text, in sequences the model's positions hold.
    corpus: { seqLen },
    stages: {
      teacher: { from: model },
      // No train section: the classifier is the fine-tuned teacher, taken as is.
      'finetune-teacher': {},
      transfer: {
        // prune-distill's schedule in pipelines/prune-once.yaml: 0 -> target over the first half, masks every 10 steps.
        pruning: { method: 'magnitude', schedule: 'cubic', finalSparsity: sparsity, beginFraction: 0, endFraction: 0.5, frequency: 10 },
        distill,
        train: { use: join(CONFIGS, 'finetune-cpu.yaml') },
      },
      qat: { quantization: { perChannel: true, embeddings: true }, distill, train: { use: join(CONFIGS, 'qat-cpu.yaml') } },
      export: { formats: ['fp32', 'int8'] },
      report: {},
    },
  };
  return pipelineFromObject(raw, 'prune-once compress', o.sets ?? []);
}

/** Builds the pipeline, runs it (progress on stderr unless quiet), returns the run and its report. */
export async function compress(o: CompressOptions): Promise<CompressResult> {
  const pipeline = compressPipeline(o);
  const source = `prune-once compress ${resolve(o.model)}`;
  const summary = await runPipeline({ pipelinePath: source, pipeline, outDir: o.outDir, backend: o.backend, quiet: o.quiet });
  return { runDir: summary.runDir, pipeline, summary, report: readReport(runFile(summary.runDir, 'reportJson')) };
}

const pct = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : `${(100 * v).toFixed(2)}%`);
const bytes = (n: number | undefined) => (n === undefined ? 'n/a' : n.toLocaleString('en-US'));

/** What compress prints at the end: the files, and accuracy and size of the teacher and the int8 model. */
export function compressSummary(r: CompressResult): string {
  const rep = r.report;
  const a = rep.accuracy;
  const teacher = rep.files.teacher;
  const int8 = rep.files.int8;
  const files = (['reportMd', 'reportJson', 'reportHtml', 'pipeline'] as const).map((f) => runFile(r.runDir, f));
  return [
    `files in ${r.runDir}:`,
    `  ${onnxPath(r.runDir, 'int8')}  the sparse int8 model (${ONNX_FILES.int8})`,
    `  ${onnxPath(r.runDir, 'fp32')}  the sparse student before quantization, fp32`,
    `  ${onnxPath(r.runDir, 'teacher')}  your classifier as ONNX, fp32 (the baseline)`,
    ...files.map((f) => `  ${f}`),
    '',
    `| model | test accuracy (ONNX Runtime, ${a.examples} examples) | file bytes | brotli bytes |`,
    '|---|---|---|---|',
    `| your classifier (dense fp32) | ${pct(a.teacherOrt)} | ${bytes(teacher?.bytes)} | ${bytes(teacher?.brotliBytes)} |`,
    `| sparse int8, ${pct(rep.totals.encoderLinear.sparsity)} of the encoder Linear weights zero | ${pct(a.int8Ort)} | ${bytes(int8.bytes)} | ${bytes(int8.brotliBytes)} |`,
    '',
    `${rep.path ? `${rep.path.description[0].toUpperCase()}${rep.path.description.slice(1)}. ` : ''}Redo it: prune-once run ${runFile(r.runDir, 'pipeline')} --out ${r.runDir}`,
  ].join('\n');
}
