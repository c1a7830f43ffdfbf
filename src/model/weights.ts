/**
 * The stable weight names every later stage (pruning, quantization, export, reports) selects weights
 * by, their roles and their shapes. Which weights are "the encoder's Linear kernels" (what Prune OFA
 * prunes and what the report's encoder ratios count) and which are the embedding tables is said
 * here once; the name lists, the role test and the include globs are all derived from it.
 */
import type { BertConfig } from './config.js';

export const EMB = {
  word: 'embeddings/word_embeddings',
  position: 'embeddings/position_embeddings',
  tokenType: 'embeddings/token_type_embeddings',
  lnGamma: 'embeddings/layer_norm/gamma',
  lnBeta: 'embeddings/layer_norm/beta',
} as const;

/** The three embedding tables (word, position, token type; not their LayerNorm). */
export const EMBEDDING_TABLES: readonly string[] = [EMB.word, EMB.position, EMB.tokenType];

/** The encoder's six Linear layers, as paths under `encoder/layer_<i>/`, in forward order. */
export const ENCODER_LINEAR = {
  query: 'attention/query',
  key: 'attention/key',
  value: 'attention/value',
  attnOut: 'attention/output',
  ffnIn: 'intermediate',
  ffnOut: 'output',
} as const;

const LINEAR_PATHS: readonly string[] = Object.values(ENCODER_LINEAR);
const ENCODER_LINEAR_KERNEL = new RegExp(`^encoder/layer_\\d+/(${LINEAR_PATHS.join('|')})/kernel$`);

/** The encoder's Linear kernels as include globs (picomatch): Prune OFA's pruning scope. */
export const ENCODER_LINEAR_GLOBS: readonly string[] = LINEAR_PATHS.map((l) => `encoder/layer_*/${l}/kernel`);

/** Whether a weight is one of the encoder's Linear kernels (Q, K, V, attention output, both FFN). */
export function isEncoderLinearKernel(name: string): boolean {
  return ENCODER_LINEAR_KERNEL.test(name);
}

/** Names of one encoder layer's weights. Kernels are stored [in, out] so that y = x @ kernel + bias. */
export function layerNames(i: number) {
  const p = `encoder/layer_${i}`;
  const linear = (path: string) => ({ kernel: `${p}/${path}/kernel`, bias: `${p}/${path}/bias` });
  return {
    query: linear(ENCODER_LINEAR.query),
    key: linear(ENCODER_LINEAR.key),
    value: linear(ENCODER_LINEAR.value),
    attnOut: linear(ENCODER_LINEAR.attnOut),
    attnLn: { gamma: `${p}/attention/layer_norm/gamma`, beta: `${p}/attention/layer_norm/beta` },
    ffnIn: linear(ENCODER_LINEAR.ffnIn),
    ffnOut: linear(ENCODER_LINEAR.ffnOut),
    ffnLn: { gamma: `${p}/output/layer_norm/gamma`, beta: `${p}/output/layer_norm/beta` },
  };
}

export const MLM = {
  transformKernel: 'mlm/transform/kernel',
  transformBias: 'mlm/transform/bias',
  lnGamma: 'mlm/layer_norm/gamma',
  lnBeta: 'mlm/layer_norm/beta',
  /** The decoder is tied to embeddings/word_embeddings; only its bias is its own. */
  outputBias: 'mlm/output_bias',
} as const;

export const CLS = {
  poolerKernel: 'pooler/kernel',
  poolerBias: 'pooler/bias',
  classifierKernel: 'classifier/kernel',
  classifierBias: 'classifier/bias',
} as const;

/** The encoder's six Linear kernels of one layer, in forward order. */
export function encoderLinearKernels(i: number): string[] {
  return LINEAR_PATHS.map((l) => `encoder/layer_${i}/${l}/kernel`);
}

export type WeightRole = 'encoder-linear' | 'embedding' | 'head' | 'other';

/** Role of a weight: the report's per-tensor rows and encoder totals, and the exporter's checks. */
export function weightRole(name: string): WeightRole {
  if (isEncoderLinearKernel(name)) return 'encoder-linear';
  if (EMBEDDING_TABLES.includes(name)) return 'embedding';
  if (name.startsWith('mlm/') || name.startsWith('pooler/') || name.startsWith('classifier/')) return 'head';
  return 'other';
}

/** Every weight name with its shape, in a fixed order. */
export function weightShapes(cfg: BertConfig, opts: { mlmHead?: boolean } = {}): Array<[string, number[]]> {
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  const out: Array<[string, number[]]> = [
    [EMB.word, [cfg.vocabSize, H]],
    [EMB.position, [cfg.maxPositions, H]],
    [EMB.tokenType, [cfg.typeVocabSize, H]],
    [EMB.lnGamma, [H]],
    [EMB.lnBeta, [H]],
  ];
  for (let i = 0; i < cfg.numLayers; i++) {
    const n = layerNames(i);
    out.push(
      [n.query.kernel, [H, H]],
      [n.query.bias, [H]],
      [n.key.kernel, [H, H]],
      [n.key.bias, [H]],
      [n.value.kernel, [H, H]],
      [n.value.bias, [H]],
      [n.attnOut.kernel, [H, H]],
      [n.attnOut.bias, [H]],
      [n.attnLn.gamma, [H]],
      [n.attnLn.beta, [H]],
      [n.ffnIn.kernel, [H, I]],
      [n.ffnIn.bias, [I]],
      [n.ffnOut.kernel, [I, H]],
      [n.ffnOut.bias, [H]],
      [n.ffnLn.gamma, [H]],
      [n.ffnLn.beta, [H]],
    );
  }
  if (opts.mlmHead ?? true) {
    out.push([MLM.transformKernel, [H, H]], [MLM.transformBias, [H]], [MLM.lnGamma, [H]], [MLM.lnBeta, [H]], [MLM.outputBias, [cfg.vocabSize]]);
  }
  if (cfg.numLabels > 0) {
    out.push([CLS.poolerKernel, [H, H]], [CLS.poolerBias, [H]], [CLS.classifierKernel, [H, cfg.numLabels]], [CLS.classifierBias, [cfg.numLabels]]);
  }
  return out;
}
