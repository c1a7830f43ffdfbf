/**
 * BERT encoder configuration and the presets of the Well-Read Students 24-model grid. The weights'
 * names, roles and shapes are in ./weights.ts.
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

const GRID_LAYERS = [2, 4, 6, 8, 10, 12] as const;
const GRID_HIDDEN = [128, 256, 512, 768] as const;

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

/**
 * The largest sizes a model may have here: those of the largest BERT released, BERT-Large (24
 * layers, hidden 1024, 16 heads, intermediate 4096), twice the presets' largest (bert-base); a
 * vocabulary of 2^18 (multilingual BERT has 119,547) and 8192 positions (BERT has 512). An imported
 * config.json or a bench flag past these is refused before any tensor is made: they are what a
 * 32-bit wasm heap of 4 GB can train at all, and a typo (1000000000 layers) otherwise ends in an
 * out-of-memory crash.
 */
export const MODEL_LIMITS = {
  numLayers: 24,
  hiddenSize: 1024,
  numHeads: 16,
  intermediateSize: 4096,
  vocabSize: 262144,
  maxPositions: 8192,
  typeVocabSize: 16,
} as const satisfies Partial<Record<keyof BertConfig, number>>;

/** Where MODEL_LIMITS come from, for messages. */
export const MODEL_LIMITS_SOURCE = 'the largest BERT, BERT-Large';

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
    if (cfg[k] > MODEL_LIMITS[k]) throw new Error(`model config: ${k} ${cfg[k]} is above ${MODEL_LIMITS[k]} (${MODEL_LIMITS_SOURCE})`);
  }
  if (cfg.hiddenSize % cfg.numHeads !== 0) {
    throw new Error(`model config: hiddenSize (${cfg.hiddenSize}) must be divisible by numHeads (${cfg.numHeads})`);
  }
  if (!Number.isInteger(cfg.numLabels) || cfg.numLabels < 0) throw new Error(`model config: numLabels must be an integer >= 0, got ${cfg.numLabels}`);
}
