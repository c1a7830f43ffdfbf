/**
 * Importing a Hugging Face BERT directory (`config.json`, `model.safetensors` or a sharded
 * `model.safetensors.index.json`, `vocab.txt`, optional `tokenizer_config.json`) as a ModelSnapshot
 * and a tokenizer.
 *
 * Everything is checked before any weight is read: the config, every tensor's presence, name, dtype
 * and shape, and that no tensor is left unexplained. Then the data is read, the tied MLM decoder is
 * verified, and only then is the snapshot built, so a bad directory never yields a half-loaded model.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initWeights } from '../model/bert.js';
import { type BertConfig } from '../model/config.js';
import { EMB, MLM } from '../model/weights.js';
import type { ModelSnapshot, WeightData } from '../model/snapshot.js';
import type { WordPieceTokenizer } from '../tokenizer/index.js';
import { ImportError } from './errors.js';
import { parseHfConfig } from './hf-config.js';
import {
  CLASSIFIER_PREFIX,
  DECODER_BIAS,
  DECODER_WEIGHT,
  hfLayout,
  MLM_PREFIX,
  NSP_PREFIX,
  POOLER_PAIRS,
  transpose2d,
  type EncoderPrefix,
  type HfTensor,
} from './hf-names.js';
import { readHfTokenizer } from './hf-tokenizer.js';
import { FLOAT_DTYPES, openSafetensors, type SafetensorsEntry, type SafetensorsFile } from './safetensors.js';

export interface HfImport {
  dir: string;
  snapshot: ModelSnapshot;
  tokenizer: WordPieceTokenizer;
  /** Class names of the classification head in id order ([] without one). */
  labels: string[];
  architectures: string[];
  /** Where the heads came from. */
  heads: { mlm: 'imported' | 'initialised'; classifier: 'imported' | 'none' };
  /** Number of imported tensors per stored dtype. */
  dtypes: Record<string, number>;
  /** Things the user should know: dropped tensors, a fresh MLM head, tokenizer settings not honoured. */
  warnings: string[];
}

export interface ImportOptions {
  /** Seed of a freshly initialised MLM head (when the checkpoint has none). Default 0. */
  seed?: number;
}

/** A directory is taken for a Hugging Face model; a file for a prune-once checkpoint. */
export function isHfDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

interface Located {
  file: SafetensorsFile;
  entry: SafetensorsEntry;
}

/** The checkpoint files that are not safetensors, with how to get safetensors from them. */
const OTHER_WEIGHT_FILES = ['pytorch_model.bin', 'tf_model.h5', 'flax_model.msgpack', 'model.ckpt.index'];

/** Opens model.safetensors, or every shard of model.safetensors.index.json; indexes tensors by name. */
function openWeights(dir: string): { files: SafetensorsFile[]; tensors: Map<string, Located>; source: string } {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  const files: SafetensorsFile[] = [];
  const tensors = new Map<string, Located>();
  const add = (file: SafetensorsFile, only?: Set<string>) => {
    for (const entry of file.entries.values()) {
      if (only && !only.has(entry.name)) continue;
      const prev = tensors.get(entry.name);
      if (prev) throw new ImportError(`${file.path}: tensor '${entry.name}' is also in ${prev.file.path}`);
      tensors.set(entry.name, { file, entry });
    }
  };
  try {
    if (existsSync(single)) {
      files.push(openSafetensors(single));
      add(files[0]);
      return { files, tensors, source: single };
    }
    if (existsSync(index)) {
      let map: Record<string, unknown>;
      try {
        map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, unknown> }).weight_map ?? {};
      } catch (e) {
        throw new ImportError(`${index}: not valid JSON (${(e as Error).message})`);
      }
      const byShard = new Map<string, Set<string>>();
      for (const [name, shard] of Object.entries(map)) {
        if (typeof shard !== 'string') throw new ImportError(`${index}: weight_map.${name}: expected a file name, found ${JSON.stringify(shard)}`);
        if (!byShard.has(shard)) byShard.set(shard, new Set());
        byShard.get(shard)!.add(name);
      }
      if (byShard.size === 0) throw new ImportError(`${index}: weight_map is empty`);
      for (const [shard, names] of byShard) {
        const path = join(dir, shard);
        if (!existsSync(path)) throw new ImportError(`${path}: not found (listed in ${index})`);
        const file = openSafetensors(path);
        files.push(file);
        const missing = [...names].filter((n) => !file.entries.has(n));
        if (missing.length) throw new ImportError(`${path}: lacks ${missing.length} tensor(s) that ${index} places there, e.g. '${missing[0]}'`);
        add(file, names);
      }
      return { files, tensors, source: index };
    }
  } catch (e) {
    for (const f of files) f.close();
    throw e;
  }
  const other = OTHER_WEIGHT_FILES.filter((f) => existsSync(join(dir, f)));
  const hint = other.length
    ? ` It has ${other.join(', ')}, which prune-once does not read: convert it once in Python, e.g. AutoModelForMaskedLM.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)`
    : '';
  throw new ImportError(
    `${single}: not found (nor model.safetensors.index.json); a Hugging Face BERT directory needs its weights in safetensors format.${hint}`,
  );
}

/** Names a checkpoint of another family would use, to say so instead of listing 200 unknown tensors. */
function foreignHint(names: string[]): string {
  const families = ['roberta.', 'distilbert.', 'albert.', 'electra.', 'deberta.', 'xlm_roberta.', 'mpnet.'];
  const f = families.find((p) => names.some((n) => n.startsWith(p)));
  if (f) return ` (these look like a ${f.slice(0, -1)} checkpoint, not BERT)`;
  if (names.some((n) => n.startsWith('qa_outputs.'))) return ' (a question-answering head, which prune-once does not support)';
  return '';
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

export function importHfDirectory(dirIn: string, opts: ImportOptions = {}): HfImport {
  const dir = resolve(dirIn);
  if (!existsSync(dir))
    throw new ImportError(`${dirIn}: no such directory (expected a Hugging Face BERT directory with config.json, model.safetensors and vocab.txt)`);
  if (!statSync(dir).isDirectory())
    throw new ImportError(`${dirIn}: not a directory (expected a Hugging Face BERT directory with config.json, model.safetensors and vocab.txt)`);
  const configFile = join(dir, 'config.json');
  if (!existsSync(configFile)) throw new ImportError(`${configFile}: not found; a Hugging Face model directory needs its config.json`);
  let rawConfig: unknown;
  try {
    rawConfig = JSON.parse(readFileSync(configFile, 'utf8'));
  } catch (e) {
    throw new ImportError(`${configFile}: not valid JSON (${(e as Error).message})`);
  }
  const info = parseHfConfig(rawConfig, configFile);
  const warnings = [...info.warnings];
  // The tokenizer is read (and validated) before the weights, which are the slow part.
  const tok = readHfTokenizer(dir);
  warnings.push(...tok.warnings);

  const { files, tensors, source } = openWeights(dir);
  try {
    const names = [...tensors.keys()];
    const prefix: EncoderPrefix = names.some((n) => n.startsWith('bert.')) ? 'bert.' : '';
    const hasMlm = names.some((n) => n.startsWith(MLM_PREFIX));
    const hasClassifier = names.some((n) => n.startsWith(CLASSIFIER_PREFIX));
    const config: BertConfig = { ...info.config };
    const problems: string[] = [];

    // numLabels comes from the classifier tensor, and must agree with what config.json declares.
    let labels: string[] = [];
    if (hasClassifier) {
      const w = tensors.get('classifier.weight');
      const declared = info.labels?.length ?? info.numLabels;
      const rows = w && w.entry.shape.length === 2 ? w.entry.shape[0] : declared;
      if (rows === null || rows < 1) {
        problems.push(`missing tensor 'classifier.weight' (the classification head has 'classifier.bias' only)`);
      } else {
        if (declared !== null && declared !== rows) {
          problems.push(
            `tensor 'classifier.weight' has ${rows} rows (classes) but ${configFile} declares ${declared} (${info.labels ? 'id2label' : 'num_labels'})`,
          );
        }
        config.numLabels = rows;
        labels = info.labels && info.labels.length === rows ? info.labels : Array.from({ length: rows }, (_, i) => `LABEL_${i}`);
      }
    }

    const layout = hfLayout(config, { mlmHead: hasMlm, prefix });
    const used = new Set<string>();
    const plan: Array<{ spec: HfTensor; at: Located; name: string }> = [];
    for (const spec of layout) {
      const present = [spec.hf, ...spec.alternatives].filter((n) => tensors.has(n));
      if (present.length === 0) {
        problems.push(`missing tensor '${spec.hf}'${spec.alternatives.length ? ` (or '${spec.alternatives[0]}')` : ''}, shape ${shapeText(spec.hfShape)}`);
        continue;
      }
      // Both spellings of a LayerNorm weight would be ambiguous; the bias and its tied alias are checked below.
      if (present.length > 1 && spec.ours !== MLM.outputBias)
        problems.push(`tensors ${present.map((n) => `'${n}'`).join(' and ')} are the same weight; keep one`);
      const name = present[0];
      const at = tensors.get(name)!;
      used.add(name);
      if (!(FLOAT_DTYPES as readonly string[]).includes(at.entry.dtype)) {
        problems.push(`tensor '${name}' is ${at.entry.dtype}; only ${FLOAT_DTYPES.join(', ')} can be imported`);
      }
      if (shapeText(at.entry.shape) !== shapeText(spec.hfShape)) {
        problems.push(`tensor '${name}' has shape ${shapeText(at.entry.shape)}, expected ${shapeText(spec.hfShape)}`);
      }
      plan.push({ spec, at, name });
    }

    // Every other tensor must be accounted for: checked, dropped with a warning, or a known buffer.
    const unknown: string[] = [];
    const dropped: string[] = [];
    for (const name of names) {
      if (used.has(name)) continue;
      if (name === `${prefix}embeddings.position_ids` || name === DECODER_WEIGHT || name === DECODER_BIAS) continue;
      if (name.startsWith(NSP_PREFIX)) dropped.push(name);
      else if (!hasClassifier && POOLER_PAIRS.some(([, hf]) => name === prefix + hf)) dropped.push(name);
      else unknown.push(name);
    }
    if (unknown.length) {
      const shown = unknown
        .slice(0, 8)
        .map((n) => `'${n}'`)
        .join(', ');
      problems.push(`${unknown.length} unknown tensor(s): ${shown}${unknown.length > 8 ? ', ...' : ''}${foreignHint(unknown)}`);
    }
    for (const [name, needs] of [
      [DECODER_WEIGHT, `${prefix}embeddings.word_embeddings.weight`],
      [DECODER_BIAS, 'cls.predictions.bias'],
    ] as const) {
      const t = tensors.get(name);
      const ref = plan.find((p) => p.name === needs || p.spec.hf === needs);
      if (t && ref && shapeText(t.entry.shape) !== shapeText(ref.at.entry.shape)) {
        problems.push(`tensor '${name}' has shape ${shapeText(t.entry.shape)}, expected ${shapeText(ref.at.entry.shape)} (tied to '${needs}')`);
      }
    }
    if (problems.length) {
      const sizes = `vocab_size ${config.vocabSize}, hidden_size ${config.hiddenSize}, num_hidden_layers ${config.numLayers}, intermediate_size ${config.intermediateSize}, max_position_embeddings ${config.maxPositions}, type_vocab_size ${config.typeVocabSize}`;
      throw new ImportError(`${source}: cannot import (shapes expected from ${configFile}: ${sizes}):\n  - ${problems.join('\n  - ')}`);
    }

    // Read, re-lay out, and verify the ties.
    const weights = new Map<string, WeightData>();
    const dtypes: Record<string, number> = {};
    for (const { spec, at, name } of plan) {
      const raw = at.file.readFloat32(name);
      dtypes[at.entry.dtype] = (dtypes[at.entry.dtype] ?? 0) + 1;
      weights.set(spec.ours, { shape: spec.shape, data: spec.transpose ? transpose2d(raw, spec.hfShape[0], spec.hfShape[1]) : raw });
    }
    const tieChecks: Array<[string, Float32Array | undefined, string]> = [
      [DECODER_WEIGHT, weights.get(EMB.word)?.data, 'the word embeddings'],
      [DECODER_BIAS, weights.get(MLM.outputBias)?.data, "'cls.predictions.bias'"],
    ];
    for (const [name, ref, what] of tieChecks) {
      const t = tensors.get(name);
      if (!t || !ref) continue;
      if (!sameBits(t.file.readFloat32(name), ref)) {
        throw new ImportError(
          `${t.file.path}: tensor '${name}' differs from ${what}; prune-once ties the MLM decoder to the word embeddings (as BERT does), so an untied decoder cannot be imported`,
        );
      }
    }
    if (!hasMlm) {
      const fresh = initWeights(config, opts.seed ?? 0, { mlmHead: true });
      for (const n of Object.values(MLM)) weights.set(n, fresh.get(n)!);
      warnings.push(
        `${source}: no MLM head (cls.predictions.*): a freshly initialised one was added; MLM accuracy means nothing until it is trained (give the teacher stage a train section)`,
      );
    }
    if (dropped.length) {
      const what = dropped.some((n) => n.startsWith(NSP_PREFIX)) ? 'the next-sentence-prediction head' : '';
      const pooler = dropped.some((n) => !n.startsWith(NSP_PREFIX)) ? 'the pooler (prune-once creates a fresh one with a classification head)' : '';
      warnings.push(`${source}: dropped ${[what, pooler].filter(Boolean).join(' and ')}: ${dropped.map((n) => `'${n}'`).join(', ')}`);
    }
    if (tok.tokenizer.vocabSize !== config.vocabSize) {
      warnings.push(
        `${tok.vocabFile} has ${tok.tokenizer.vocabSize} entries but ${configFile} says vocab_size ${config.vocabSize}; a pipeline needs them equal`,
      );
    }
    // Weights in the project's fixed order (weightShapes), MLM head included.
    const ordered = new Map<string, WeightData>();
    for (const spec of hfLayout(config, { mlmHead: true, prefix })) ordered.set(spec.ours, weights.get(spec.ours)!);
    return {
      dir,
      snapshot: { config, weights: ordered },
      tokenizer: tok.tokenizer,
      labels,
      architectures: info.architectures,
      heads: { mlm: hasMlm ? 'imported' : 'initialised', classifier: hasClassifier ? 'imported' : 'none' },
      dtypes,
      warnings,
    };
  } finally {
    for (const f of files) f.close();
  }
}
