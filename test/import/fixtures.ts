/**
 * Small BERT directories in the Hugging Face layout, made from a tiny random model. The name and
 * layout mapping here is written out independently of src/import/hf-names.ts (string templates and
 * a plain transpose), so the importer is checked against a second opinion, not against itself.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initWeights } from '../../src/model/bert.js';
import { defaultConfig, type BertConfig } from '../../src/model/config.js';
import type { ModelSnapshot, WeightData } from '../../src/model/snapshot.js';
import { writeSafetensors, type FloatDtype, type TensorToWrite } from '../../src/import/safetensors.js';
import { Rng } from '../../src/util/rng.js';

export const TINY_VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  ...'abcdefghijklmnopqrstuvwxyz'.split(''),
  ...'abcdefghijklmnopqrstuvwxyz'.split('').map((c) => `##${c}`),
  'the',
  'and',
  'free',
  'money',
  'meeting',
  '.',
  ',',
  '!',
];

export function tinyConfig(overrides: Partial<BertConfig> = {}): BertConfig {
  return defaultConfig({
    vocabSize: TINY_VOCAB.length,
    hiddenSize: 16,
    numLayers: 2,
    numHeads: 2,
    intermediateSize: 24,
    maxPositions: 40,
    typeVocabSize: 2,
    numLabels: 3,
    ...overrides,
  });
}

/** Random weights, every tensor distinct (biases and LayerNorm too, so a swap cannot go unnoticed). */
export function randomSnapshot(config: BertConfig, seed = 1): ModelSnapshot {
  const weights = initWeights(config, seed);
  const rng = new Rng(seed + 1000);
  for (const [name, w] of weights) {
    const data = new Float32Array(w.data.length);
    for (let i = 0; i < data.length; i++) data[i] = (name.endsWith('gamma') ? 1 : 0) + 0.3 * rng.normal();
    weights.set(name, { shape: w.shape, data });
  }
  return { config, weights };
}

function transpose(w: WeightData): Float32Array {
  const [r, c] = w.shape;
  const out = new Float32Array(w.data.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = w.data[i * c + j];
  return out;
}

export interface HfDirOptions {
  dtype?: FloatDtype;
  /** 'bert.' (models with heads) or '' (BertModel). */
  prefix?: string;
  mlmHead?: boolean;
  /** Write the classifier (needs config.numLabels > 0) and the pooler. */
  classifier?: boolean;
  /** Write a pooler even without a classifier (as BertModel / BertForPreTraining do). */
  pooler?: boolean;
  /** LayerNorm.gamma / .beta instead of .weight / .bias. */
  legacyNames?: boolean;
  /** Also write cls.predictions.decoder.weight/bias (tied copies), position_ids and an NSP head, as BertForPreTraining. */
  preTrainingExtras?: boolean;
  labels?: string[];
  hiddenAct?: string;
  doLowerCase?: boolean | null;
  vocab?: string[];
  /** Extra config.json fields (override). */
  config?: Record<string, unknown>;
}

/** The HF name, our name and whether it is a Linear weight, for every tensor the options ask for. */
export function hfNames(cfg: BertConfig, o: HfDirOptions): Array<[string, string, boolean]> {
  const p = o.prefix ?? 'bert.';
  const g = o.legacyNames ? 'gamma' : 'weight';
  const b = o.legacyNames ? 'beta' : 'bias';
  const out: Array<[string, string, boolean]> = [
    [`${p}embeddings.word_embeddings.weight`, 'embeddings/word_embeddings', false],
    [`${p}embeddings.position_embeddings.weight`, 'embeddings/position_embeddings', false],
    [`${p}embeddings.token_type_embeddings.weight`, 'embeddings/token_type_embeddings', false],
    [`${p}embeddings.LayerNorm.${g}`, 'embeddings/layer_norm/gamma', false],
    [`${p}embeddings.LayerNorm.${b}`, 'embeddings/layer_norm/beta', false],
  ];
  for (let i = 0; i < cfg.numLayers; i++) {
    const h = `${p}encoder.layer.${i}.`;
    const o2 = `encoder/layer_${i}/`;
    out.push(
      [`${h}attention.self.query.weight`, `${o2}attention/query/kernel`, true],
      [`${h}attention.self.query.bias`, `${o2}attention/query/bias`, false],
      [`${h}attention.self.key.weight`, `${o2}attention/key/kernel`, true],
      [`${h}attention.self.key.bias`, `${o2}attention/key/bias`, false],
      [`${h}attention.self.value.weight`, `${o2}attention/value/kernel`, true],
      [`${h}attention.self.value.bias`, `${o2}attention/value/bias`, false],
      [`${h}attention.output.dense.weight`, `${o2}attention/output/kernel`, true],
      [`${h}attention.output.dense.bias`, `${o2}attention/output/bias`, false],
      [`${h}attention.output.LayerNorm.${g}`, `${o2}attention/layer_norm/gamma`, false],
      [`${h}attention.output.LayerNorm.${b}`, `${o2}attention/layer_norm/beta`, false],
      [`${h}intermediate.dense.weight`, `${o2}intermediate/kernel`, true],
      [`${h}intermediate.dense.bias`, `${o2}intermediate/bias`, false],
      [`${h}output.dense.weight`, `${o2}output/kernel`, true],
      [`${h}output.dense.bias`, `${o2}output/bias`, false],
      [`${h}output.LayerNorm.${g}`, `${o2}output/layer_norm/gamma`, false],
      [`${h}output.LayerNorm.${b}`, `${o2}output/layer_norm/beta`, false],
    );
  }
  if (o.classifier || o.pooler) out.push([`${p}pooler.dense.weight`, 'pooler/kernel', true], [`${p}pooler.dense.bias`, 'pooler/bias', false]);
  if (o.mlmHead ?? true) {
    out.push(
      ['cls.predictions.transform.dense.weight', 'mlm/transform/kernel', true],
      ['cls.predictions.transform.dense.bias', 'mlm/transform/bias', false],
      [`cls.predictions.transform.LayerNorm.${g}`, 'mlm/layer_norm/gamma', false],
      [`cls.predictions.transform.LayerNorm.${b}`, 'mlm/layer_norm/beta', false],
      ['cls.predictions.bias', 'mlm/output_bias', false],
    );
  }
  if (o.classifier) out.push(['classifier.weight', 'classifier/kernel', true], ['classifier.bias', 'classifier/bias', false]);
  return out;
}

/** HF tensors of a snapshot per the options (values as float32; the writer converts to dtype). */
export function hfTensorList(snap: ModelSnapshot, o: HfDirOptions): Array<[string, TensorToWrite]> {
  const dtype = o.dtype ?? 'F32';
  const list: Array<[string, TensorToWrite]> = hfNames(snap.config, o).map(([hf, ours, t]) => {
    const w = snap.weights.get(ours);
    if (!w) throw new Error(`fixture: snapshot lacks ${ours}`);
    return [hf, { dtype, shape: t ? [w.shape[1], w.shape[0]] : w.shape, data: t ? transpose(w) : w.data }];
  });
  if (o.preTrainingExtras) {
    const word = snap.weights.get('embeddings/word_embeddings')!;
    const H = snap.config.hiddenSize;
    list.push(['cls.predictions.decoder.weight', { dtype, shape: word.shape, data: word.data }]);
    list.push(['cls.predictions.decoder.bias', { dtype, shape: [snap.config.vocabSize], data: snap.weights.get('mlm/output_bias')!.data }]);
    list.push(['cls.seq_relationship.weight', { dtype, shape: [2, H], data: new Float32Array(2 * H).fill(0.5) }]);
    list.push(['cls.seq_relationship.bias', { dtype, shape: [2], data: new Float32Array([0.1, -0.1]) }]);
  }
  return list;
}

export function hfConfigJson(cfg: BertConfig, o: HfDirOptions): Record<string, unknown> {
  const arch = o.classifier
    ? 'BertForSequenceClassification'
    : o.preTrainingExtras
      ? 'BertForPreTraining'
      : (o.mlmHead ?? true)
        ? 'BertForMaskedLM'
        : 'BertModel';
  const json: Record<string, unknown> = {
    architectures: [arch],
    model_type: 'bert',
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.hiddenSize,
    num_hidden_layers: cfg.numLayers,
    num_attention_heads: cfg.numHeads,
    intermediate_size: cfg.intermediateSize,
    hidden_act: o.hiddenAct ?? 'gelu',
    hidden_dropout_prob: cfg.hiddenDropout,
    attention_probs_dropout_prob: cfg.attentionDropout,
    max_position_embeddings: cfg.maxPositions,
    type_vocab_size: cfg.typeVocabSize,
    initializer_range: 0.02,
    layer_norm_eps: cfg.layerNormEps,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    transformers_version: '4.44.0',
  };
  if (o.classifier) {
    const labels = o.labels ?? Array.from({ length: cfg.numLabels }, (_, i) => `class_${i}`);
    json.id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
    json.label2id = Object.fromEntries(labels.map((l, i) => [l, i]));
  }
  return { ...json, ...o.config };
}

/** Writes config.json, model.safetensors, vocab.txt and tokenizer_config.json into `dir`. */
export function writeHfDir(dir: string, snap: ModelSnapshot, o: HfDirOptions = {}): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfigJson(snap.config, o), null, 2));
  writeSafetensors(join(dir, 'model.safetensors'), hfTensorList(snap, o));
  if (o.preTrainingExtras) appendPositionIds(join(dir, 'model.safetensors'), snap.config.maxPositions);
  writeFileSync(join(dir, 'vocab.txt'), `${(o.vocab ?? TINY_VOCAB).join('\n')}\n`);
  if (o.doLowerCase !== null)
    writeFileSync(
      join(dir, 'tokenizer_config.json'),
      JSON.stringify({ do_lower_case: o.doLowerCase ?? true, tokenizer_class: 'BertTokenizer', model_max_length: 512 }),
    );
  return dir;
}

/**
 * Rewrites a safetensors file with an extra I64 `bert.embeddings.position_ids` buffer [1, P], the way
 * older transformers saved it (by hand: the writer only does floats).
 */
function appendPositionIds(path: string, positions: number): void {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets?: number[] }>;
  const data = buf.subarray(8 + n);
  const ids = Buffer.alloc(positions * 8);
  for (let i = 0; i < positions; i++) ids.writeBigInt64LE(BigInt(i), i * 8);
  header['bert.embeddings.position_ids'] = { dtype: 'I64', shape: [1, positions], data_offsets: [data.length, data.length + ids.length] } as never;
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, data, ids]));
}
