/**
 * BERT encoder configuration, the presets of the Well-Read Students 24-model grid, and the stable
 * weight names every later stage (pruning, quantization, export, reports) selects weights by.
 */
export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
  /** 'gelu' is the exact erf form (as in BERT and in the ONNX export). */
  hiddenAct: 'gelu' | 'gelu_tanh' | 'relu';
  hiddenDropout: number;
  attentionDropout: number;
  /** Number of classes of the sequence-classification head; 0 = no classification head. */
  numLabels: number;
}

export const GRID_LAYERS = [2, 4, 6, 8, 10, 12] as const;
export const GRID_HIDDEN = [128, 256, 512, 768] as const;

const NAMED: Record<string, [number, number]> = {
  'bert-tiny': [2, 128],
  'bert-mini': [4, 256],
  'bert-small': [4, 512],
  'bert-medium': [8, 512],
  'bert-base': [12, 768],
};

/** All preset names: the five named models and `L{l}-H{h}` for the 24-model grid. */
export function presetNames(): string[] {
  const grid = GRID_LAYERS.flatMap((l) => GRID_HIDDEN.map((h) => `L${l}-H${h}`));
  return [...Object.keys(NAMED), ...grid];
}

/** A preset's shape (A = H/64, I = 4H as in the grid release); throws with the allowed names. */
export function presetShape(name: string): Pick<BertConfig, 'numLayers' | 'hiddenSize' | 'numHeads' | 'intermediateSize'> {
  let lh = NAMED[name];
  const m = /^L(\d+)-H(\d+)$/.exec(name);
  if (!lh && m) {
    const l = Number(m[1]);
    const h = Number(m[2]);
    if ((GRID_LAYERS as readonly number[]).includes(l) && (GRID_HIDDEN as readonly number[]).includes(h)) lh = [l, h];
  }
  if (!lh) {
    throw new Error(`unknown model preset '${name}'; allowed: ${presetNames().join(', ')}`);
  }
  const [numLayers, hiddenSize] = lh;
  return { numLayers, hiddenSize, numHeads: Math.max(1, hiddenSize / 64), intermediateSize: 4 * hiddenSize };
}

export function defaultConfig(overrides: Partial<BertConfig> = {}): BertConfig {
  const cfg: BertConfig = {
    vocabSize: 30522,
    hiddenSize: 128,
    numLayers: 2,
    numHeads: 2,
    intermediateSize: 512,
    maxPositions: 512,
    typeVocabSize: 2,
    layerNormEps: 1e-12,
    hiddenAct: 'gelu',
    hiddenDropout: 0.1,
    attentionDropout: 0.1,
    numLabels: 0,
    ...overrides,
  };
  validateConfig(cfg);
  return cfg;
}

export function validateConfig(cfg: BertConfig): void {
  const posInt = ['vocabSize', 'hiddenSize', 'numLayers', 'numHeads', 'intermediateSize', 'maxPositions', 'typeVocabSize'] as const;
  for (const k of posInt) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new Error(`model config: ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (cfg.hiddenSize % cfg.numHeads !== 0) {
    throw new Error(`model config: hiddenSize (${cfg.hiddenSize}) must be divisible by numHeads (${cfg.numHeads})`);
  }
  if (!Number.isInteger(cfg.numLabels) || cfg.numLabels < 0) throw new Error(`model config: numLabels must be an integer >= 0, got ${cfg.numLabels}`);
}

// ---- stable weight names -------------------------------------------------------------------------

export const EMB = {
  word: 'embeddings/word_embeddings',
  position: 'embeddings/position_embeddings',
  tokenType: 'embeddings/token_type_embeddings',
  lnGamma: 'embeddings/layer_norm/gamma',
  lnBeta: 'embeddings/layer_norm/beta',
} as const;

/** Names of one encoder layer's weights. Kernels are stored [in, out] so that y = x @ kernel + bias. */
export function layerNames(i: number) {
  const p = `encoder/layer_${i}`;
  return {
    query: { kernel: `${p}/attention/query/kernel`, bias: `${p}/attention/query/bias` },
    key: { kernel: `${p}/attention/key/kernel`, bias: `${p}/attention/key/bias` },
    value: { kernel: `${p}/attention/value/kernel`, bias: `${p}/attention/value/bias` },
    attnOut: { kernel: `${p}/attention/output/kernel`, bias: `${p}/attention/output/bias` },
    attnLn: { gamma: `${p}/attention/layer_norm/gamma`, beta: `${p}/attention/layer_norm/beta` },
    ffnIn: { kernel: `${p}/intermediate/kernel`, bias: `${p}/intermediate/bias` },
    ffnOut: { kernel: `${p}/output/kernel`, bias: `${p}/output/bias` },
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
  const n = layerNames(i);
  return [n.query.kernel, n.key.kernel, n.value.kernel, n.attnOut.kernel, n.ffnIn.kernel, n.ffnOut.kernel];
}

export type WeightRole = 'encoder-linear' | 'embedding' | 'head' | 'other';

/** Role of a weight, used by reports and default pruning scopes. */
export function weightRole(name: string): WeightRole {
  if (/^encoder\/layer_\d+\/(attention\/(query|key|value|output)|intermediate|output)\/kernel$/.test(name)) return 'encoder-linear';
  if (name.startsWith('embeddings/') && name.endsWith('_embeddings')) return 'embedding';
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
      [n.query.kernel, [H, H]], [n.query.bias, [H]],
      [n.key.kernel, [H, H]], [n.key.bias, [H]],
      [n.value.kernel, [H, H]], [n.value.bias, [H]],
      [n.attnOut.kernel, [H, H]], [n.attnOut.bias, [H]],
      [n.attnLn.gamma, [H]], [n.attnLn.beta, [H]],
      [n.ffnIn.kernel, [H, I]], [n.ffnIn.bias, [I]],
      [n.ffnOut.kernel, [I, H]], [n.ffnOut.bias, [H]],
      [n.ffnLn.gamma, [H]], [n.ffnLn.beta, [H]],
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
