/**
 * Where each of the project's weights lives in a Hugging Face BERT checkpoint, and in which layout.
 * PyTorch's nn.Linear stores its weight [out, in] (y = x W^T + b); the project stores kernels
 * [in, out] (y = x K + b), so every Linear weight is transposed on the way in and out. Embedding
 * tables, biases and LayerNorm parameters are the same on both sides.
 */
import { type BertConfig } from '../model/config.js';
import { CLS, EMB, MLM, layerNames, weightShapes } from '../model/weights.js';

export interface HfTensor {
  /** The project's stable name. */
  ours: string;
  /** The canonical Hugging Face name (what the exporter writes). */
  hf: string;
  /** Other accepted spellings: TF-converted checkpoints call LayerNorm's weight/bias gamma/beta. */
  alternatives: string[];
  /** Linear weight: [out, in] in the checkpoint, [in, out] here. */
  transpose: boolean;
  /** Shape in the checkpoint. */
  hfShape: number[];
  /** Shape here. */
  shape: number[];
}

/** BertModel checkpoints have no prefix; models with a head keep the encoder under `bert.`. */
export type EncoderPrefix = '' | 'bert.';

export const MLM_PREFIX = 'cls.predictions.';
export const CLASSIFIER_PREFIX = 'classifier.';
/** The tied MLM decoder: not stored here (the word embeddings are), checked on import. */
export const DECODER_WEIGHT = 'cls.predictions.decoder.weight';
export const DECODER_BIAS = 'cls.predictions.decoder.bias';
/** BertForPreTraining's next-sentence head, which the project has no use for. */
export const NSP_PREFIX = 'cls.seq_relationship.';

/** Pairs (ours, hf name without prefix, transpose) of everything but the heads' tensors. */
function encoderPairs(cfg: BertConfig): Array<[string, string, boolean]> {
  const pairs: Array<[string, string, boolean]> = [
    [EMB.word, 'embeddings.word_embeddings.weight', false],
    [EMB.position, 'embeddings.position_embeddings.weight', false],
    [EMB.tokenType, 'embeddings.token_type_embeddings.weight', false],
    [EMB.lnGamma, 'embeddings.LayerNorm.weight', false],
    [EMB.lnBeta, 'embeddings.LayerNorm.bias', false],
  ];
  for (let i = 0; i < cfg.numLayers; i++) {
    const n = layerNames(i);
    const h = `encoder.layer.${i}.`;
    const linear = (k: { kernel: string; bias: string }, hf: string): Array<[string, string, boolean]> => [
      [k.kernel, `${h}${hf}.weight`, true],
      [k.bias, `${h}${hf}.bias`, false],
    ];
    const norm = (k: { gamma: string; beta: string }, hf: string): Array<[string, string, boolean]> => [
      [k.gamma, `${h}${hf}.weight`, false],
      [k.beta, `${h}${hf}.bias`, false],
    ];
    pairs.push(
      ...linear(n.query, 'attention.self.query'),
      ...linear(n.key, 'attention.self.key'),
      ...linear(n.value, 'attention.self.value'),
      ...linear(n.attnOut, 'attention.output.dense'),
      ...norm(n.attnLn, 'attention.output.LayerNorm'),
      ...linear(n.ffnIn, 'intermediate.dense'),
      ...linear(n.ffnOut, 'output.dense'),
      ...norm(n.ffnLn, 'output.LayerNorm'),
    );
  }
  return pairs;
}

const MLM_PAIRS: Array<[string, string, boolean]> = [
  [MLM.transformKernel, 'cls.predictions.transform.dense.weight', true],
  [MLM.transformBias, 'cls.predictions.transform.dense.bias', false],
  [MLM.lnGamma, 'cls.predictions.transform.LayerNorm.weight', false],
  [MLM.lnBeta, 'cls.predictions.transform.LayerNorm.bias', false],
  [MLM.outputBias, 'cls.predictions.bias', false],
];

/** The pooler is part of the encoder in HF (`bert.pooler`), of the classification head here. */
export const POOLER_PAIRS: Array<[string, string, boolean]> = [
  [CLS.poolerKernel, 'pooler.dense.weight', true],
  [CLS.poolerBias, 'pooler.dense.bias', false],
];

const CLASSIFIER_PAIRS: Array<[string, string, boolean]> = [
  [CLS.classifierKernel, 'classifier.weight', true],
  [CLS.classifierBias, 'classifier.bias', false],
];

/**
 * Other spellings: LayerNorm.weight -> LayerNorm.gamma, LayerNorm.bias -> LayerNorm.beta (TF-era
 * names); the MLM output bias may be saved only under its tied alias `cls.predictions.decoder.bias`.
 */
function legacyNames(hf: string): string[] {
  if (hf === 'cls.predictions.bias') return [DECODER_BIAS];
  if (hf.endsWith('LayerNorm.weight')) return [hf.replace(/weight$/, 'gamma')];
  if (hf.endsWith('LayerNorm.bias')) return [hf.replace(/bias$/, 'beta')];
  return [];
}

/**
 * The full layout of a model: every weight of `weightShapes(cfg, {mlmHead})` (pooler and classifier
 * when cfg.numLabels > 0), with its checkpoint name and shape, in the project's weight order.
 */
export function hfLayout(cfg: BertConfig, opts: { mlmHead: boolean; prefix: EncoderPrefix }): HfTensor[] {
  const hfOf = new Map<string, [string, boolean]>();
  for (const [ours, hf, t] of [...encoderPairs(cfg), ...POOLER_PAIRS]) hfOf.set(ours, [opts.prefix + hf, t]);
  for (const [ours, hf, t] of [...MLM_PAIRS, ...CLASSIFIER_PAIRS]) hfOf.set(ours, [hf, t]);
  return weightShapes(cfg, { mlmHead: opts.mlmHead }).map(([ours, shape]) => {
    const found = hfOf.get(ours);
    if (!found) throw new Error(`hfLayout: no Hugging Face name for weight '${ours}'`);
    const [hf, transpose] = found;
    return { ours, hf, alternatives: legacyNames(hf), transpose, shape, hfShape: transpose ? [shape[1], shape[0]] : shape };
  });
}

/** Swaps the two axes of a row-major [rows, cols] matrix. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[base + c];
  }
  return out;
}
