/**
 * What `predict` runs: an int8 ONNX file, the labels, the sequence length and prune-once's tokenizer
 * for it, found from any of the places a user has a model:
 *  - a transformers.js model folder (config.json, tokenizer.json, tokenizer_config.json,
 *    onnx/model_quantized.onnx: what `export --format transformers.js` writes);
 *  - a run directory or a multi-task run's task directory (model.int8.onnx, the run's tokenizer);
 *  - an .onnx file written by prune-once (labels and sequence length in its metadata), with its
 *    tokenizer beside it: the run it sits in, a tokenizer.json (here or one folder up), or vocab.txt.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readTokenizerJson } from '../export/hf-tokenizer-json.js';
import { TFJS_FILES } from '../export/transformers-js.js';
import { decodeOnnx, readMetadata } from '../onnx/index.js';
import { ONNX_FILES, RUN_FILES, runFile } from '../run/layout.js';
import { locate, resolveScope } from '../run/locate.js';
import { savedRunTokenizer } from '../run/tokenizer.js';
import { loadVocabFile, WordPieceTokenizer } from '../tokenizer/index.js';

export interface PredictModel {
  /** The ONNX file that runs. */
  onnxPath: string;
  labels: string[];
  /** Inputs are truncated to this many tokens, [CLS] and [SEP] included. */
  maxLength: number;
  tokenizer: WordPieceTokenizer;
  /** Where the model came from, in words. */
  source: string;
}

export class PredictModelError extends Error {}

const fail = (msg: string): never => {
  throw new PredictModelError(msg);
};

function readJson(path: string): Record<string, unknown> {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    return fail(`${path}: not a valid JSON object (${(e as Error).message})`);
  }
}

/** Labels in id order from a config.json's id2label. */
function labelsFromConfig(path: string, config: Record<string, unknown>): string[] {
  const map = config.id2label as Record<string, unknown> | undefined;
  if (!map || typeof map !== 'object') return fail(`${path}: no id2label; a text-classification config.json maps ids to label names`);
  const n = Object.keys(map).length;
  return Array.from({ length: n }, (_, i) => {
    const v = map[String(i)];
    return typeof v === 'string' ? v : fail(`${path}: id2label has no string for id ${i} (ids must be 0..${n - 1})`);
  });
}

function fromFolder(dir: string): PredictModel {
  const cfgPath = join(dir, TFJS_FILES.config);
  if (existsSync(cfgPath) && (readJson(cfgPath).architectures as unknown[] | undefined)?.includes('BertForMaskedLM'))
    fail(`${cfgPath}: a fill-mask model (BertForMaskedLM); predict classifies text with a fine-tuned model: give a text-classification folder or run`);
  const need = [TFJS_FILES.config, TFJS_FILES.tokenizer, TFJS_FILES.tokenizerConfig, TFJS_FILES.q8];
  const missing = need.filter((f) => !existsSync(join(dir, f)));
  if (missing.length)
    fail(
      `${dir}: missing ${missing.map((f) => join(dir, f)).join(', ')}; a transformers.js model folder from \`prune-once export <run> --format transformers.js\` has ${need.join(', ')}`,
    );
  const configPath = join(dir, TFJS_FILES.config);
  const labels = labelsFromConfig(configPath, readJson(configPath));
  const tcPath = join(dir, TFJS_FILES.tokenizerConfig);
  const maxLength = readJson(tcPath).model_max_length;
  if (!Number.isInteger(maxLength) || (maxLength as number) < 4) fail(`${tcPath}: model_max_length is ${JSON.stringify(maxLength)}; expected an integer >= 4`);
  const tokPath = join(dir, TFJS_FILES.tokenizer);
  const t = readTokenizerJson(tokPath);
  return {
    onnxPath: join(dir, TFJS_FILES.q8),
    labels,
    maxLength: maxLength as number,
    tokenizer: new WordPieceTokenizer(t.vocab, { lowercase: t.lowercase, vocabSource: tokPath }),
    source: `transformers.js folder ${dir}`,
  };
}

/** Labels and sequence length from a prune-once ONNX file's metadata. */
function onnxFacts(path: string): { labels: string[]; maxLength: number; lowercase?: boolean } {
  const meta = readMetadata(decodeOnnx(readFileSync(path), path));
  let labels: unknown;
  try {
    labels = JSON.parse(meta.labels ?? 'null');
  } catch {
    labels = null;
  }
  const maxLength = Number(meta.max_sequence_length);
  if (!Array.isArray(labels) || labels.length === 0 || !Number.isInteger(maxLength))
    fail(`${path}: its metadata lacks labels or max_sequence_length (not a prune-once classifier export?); predict needs both`);
  const tok = meta.tokenizer ? (JSON.parse(meta.tokenizer) as { lowercase?: boolean }) : {};
  return { labels: (labels as unknown[]).map(String), maxLength, lowercase: tok.lowercase };
}

function tokenizerNear(onnxPath: string, lowercase: boolean | undefined): WordPieceTokenizer {
  const dir = dirname(onnxPath);
  const run = locate(onnxPath).run?.dir;
  if (run) {
    const warnings: string[] = [];
    const t = savedRunTokenizer(run, (m) => warnings.push(m));
    if (t) return t;
    fail(`${onnxPath}: the tokenizer of run ${run} could not be read (${warnings.join('; ') || `its ${RUN_FILES.pipeline} names none`})`);
  }
  for (const d of [dir, dirname(dir)]) {
    const p = join(d, TFJS_FILES.tokenizer);
    if (existsSync(p)) {
      const t = readTokenizerJson(p);
      return new WordPieceTokenizer(t.vocab, { lowercase: t.lowercase, vocabSource: p });
    }
  }
  const vocab = join(dir, RUN_FILES.vocab);
  if (existsSync(vocab)) return new WordPieceTokenizer(loadVocabFile(vocab), { lowercase: lowercase ?? true, vocabSource: vocab });
  return fail(
    `${onnxPath}: no tokenizer found beside it (looked for ${runFile(dir, 'pipeline')}, ${join(dir, TFJS_FILES.tokenizer)} and ${vocab}); put the model's vocab.txt next to it`,
  );
}

function fromOnnx(path: string, source: string): PredictModel {
  const facts = onnxFacts(path);
  return { onnxPath: path, labels: facts.labels, maxLength: facts.maxLength, tokenizer: tokenizerNear(path, facts.lowercase), source };
}

/**
 * Finds the model, its labels, sequence length and tokenizer; errors name the missing file. `task`
 * picks the task of a multi-task run, as `--task` does for every command (src/run/locate.ts).
 */
export function resolvePredictModel(input: string, task?: string): PredictModel {
  const path = resolve(input);
  if (!existsSync(path)) fail(`${input}: no such model folder, run directory or .onnx file`);
  if (!statSync(path).isDirectory()) {
    if (!path.endsWith('.onnx')) fail(`${input}: not an .onnx file; give a transformers.js model folder, a run or task directory, or an .onnx file`);
    return fromOnnx(path, path);
  }
  if (task === undefined && (existsSync(join(path, TFJS_FILES.config)) || existsSync(join(path, TFJS_FILES.tokenizer)))) return fromFolder(path);
  const dir = resolveScope(path, task, 'predict').scope?.dir ?? path;
  const int8 = join(dir, ONNX_FILES.int8);
  if (existsSync(int8)) return fromOnnx(int8, `run ${dir}`);
  return fail(
    `${input}: neither a transformers.js model folder (no ${TFJS_FILES.config}) nor a finished run (no ${int8}); give a folder from \`prune-once export <run> --format transformers.js\`, or a run directory whose export stage has run`,
  );
}
