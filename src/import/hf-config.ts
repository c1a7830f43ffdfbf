/**
 * Hugging Face `config.json` <-> the project's BertConfig. The sizes (layers, hidden, heads,
 * intermediate, vocabulary, positions) must be stated and within MODEL_LIMITS: a missing one is
 * refused rather than taken from transformers' BERT-Base defaults, which would silently describe
 * another model. Other missing fields take transformers' BertConfig defaults (what
 * `from_pretrained` would use); anything the forward pass here does not implement (relative
 * positions, decoders, other model types) is refused with the reason.
 */
import { MODEL_LIMITS, MODEL_LIMITS_SOURCE, validateConfig, type BertConfig } from '../model/config.js';
import { ImportError } from './errors.js';

/** What config.json says, in the project's terms. numLabels is settled later, from the tensors. */
export interface HfConfigInfo {
  config: BertConfig;
  architectures: string[];
  /** id2label in id order, or null when config.json has none. */
  labels: string[] | null;
  /** num_labels when config.json states it (transformers otherwise derives it from id2label). */
  numLabels: number | null;
  warnings: string[];
}

/** transformers.BertConfig defaults. */
const DEFAULTS = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
};

/** config.json's size fields and the BertConfig field each sets (checked against MODEL_LIMITS). */
const SIZE_FIELDS = {
  vocab_size: 'vocabSize',
  hidden_size: 'hiddenSize',
  num_hidden_layers: 'numLayers',
  num_attention_heads: 'numHeads',
  intermediate_size: 'intermediateSize',
  max_position_embeddings: 'maxPositions',
  type_vocab_size: 'typeVocabSize',
} as const satisfies Partial<Record<keyof typeof DEFAULTS, keyof typeof MODEL_LIMITS>>;

/** Sizes config.json must state (type_vocab_size may default to 2, as every BERT has). */
const REQUIRED: ReadonlySet<string> = new Set([
  'vocab_size',
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'intermediate_size',
  'max_position_embeddings',
]);

/** hidden_act values -> the project's activation. gelu_new, gelu_fast and gelu_pytorch_tanh are the same tanh formula. */
const ACTIVATIONS: Record<string, BertConfig['hiddenAct']> = {
  gelu: 'gelu',
  gelu_python: 'gelu',
  gelu_new: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  relu: 'relu',
};

/** Why other encoder families are not BERT here (their checkpoints differ in ways a rename cannot fix). */
const OTHER_TYPES: Record<string, string> = {
  roberta: 'RoBERTa offsets position ids by padding_idx + 1, has no pooled token types and uses a BPE tokenizer',
  'xlm-roberta': 'XLM-RoBERTa offsets position ids by padding_idx + 1 and uses a SentencePiece tokenizer',
  camembert: 'CamemBERT is RoBERTa-style (offset position ids, SentencePiece tokenizer)',
  distilbert: 'DistilBERT has other weight names, no token-type embeddings and no pooler',
  albert: 'ALBERT shares one layer across the stack and factorizes the embeddings',
  electra: 'ELECTRA has separate embedding and hidden sizes and a different head',
  deberta: 'DeBERTa uses disentangled relative attention',
  'deberta-v2': 'DeBERTa uses disentangled relative attention',
  mpnet: 'MPNet uses relative position buckets',
  modernbert: 'ModernBERT uses rotary positions, GeGLU and pre-normalization',
};

/** Heads whose tensors map onto nothing here (the project has MLM and sequence-classification heads). */
const UNSUPPORTED_HEADS = ['BertForQuestionAnswering', 'BertForTokenClassification', 'BertForMultipleChoice', 'BertLMHeadModel'];

export function parseHfConfig(raw: unknown, file: string): HfConfigInfo {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ImportError(`${file}: expected a JSON object (a Hugging Face model config)`);
  const c = raw as Record<string, unknown>;
  const warnings: string[] = [];
  const fail = (field: string, what: string): never => {
    throw new ImportError(`${file}: ${field}: ${what}`);
  };

  const architectures = c.architectures === undefined || c.architectures === null ? [] : c.architectures;
  if (!Array.isArray(architectures) || !architectures.every((a) => typeof a === 'string'))
    fail('architectures', `expected a list of class names, found ${JSON.stringify(c.architectures)}`);
  const archs = architectures as string[];
  const modelType = c.model_type;
  if (modelType === undefined) {
    if (!archs.some((a) => a.startsWith('Bert')))
      fail('model_type', 'missing, and architectures names no Bert* class; this does not look like a BERT checkpoint');
  } else if (modelType !== 'bert') {
    const why = typeof modelType === 'string' ? OTHER_TYPES[modelType] : undefined;
    fail('model_type', `${JSON.stringify(modelType)} is not supported; prune-once imports BERT checkpoints (model_type "bert") only${why ? ` (${why})` : ''}`);
  }
  const unsupported = archs.filter((a) => UNSUPPORTED_HEADS.includes(a));
  if (unsupported.length) {
    fail(
      'architectures',
      `${unsupported.join(', ')} is not supported: prune-once keeps an MLM head and a sequence-classification head only (supported: BertModel, BertForPreTraining, BertForMaskedLM, BertForSequenceClassification)`,
    );
  }
  if (c.is_decoder === true || c.add_cross_attention === true)
    fail(c.is_decoder === true ? 'is_decoder' : 'add_cross_attention', 'decoder / cross-attention BERTs are not supported (encoders only)');
  if (c.position_embedding_type !== undefined && c.position_embedding_type !== 'absolute') {
    fail('position_embedding_type', `${JSON.stringify(c.position_embedding_type)} is not supported; only "absolute" position embeddings are implemented`);
  }

  const int = (key: keyof typeof SIZE_FIELDS): number => {
    const v = c[key] ?? (REQUIRED.has(key) ? undefined : DEFAULTS[key]);
    if (v === undefined)
      fail(
        key,
        `missing; the model's shape cannot be guessed (transformers would assume BERT-Base's ${DEFAULTS[key]}): add "${key}" with the checkpoint's value`,
      );
    if (!Number.isInteger(v) || (v as number) < 1) fail(key, `must be a positive integer, found ${JSON.stringify(c[key])}`);
    const limit = MODEL_LIMITS[SIZE_FIELDS[key]];
    if ((v as number) > limit) fail(key, `${v as number} is above ${limit} (${MODEL_LIMITS_SOURCE}); prune-once imports models up to that size`);
    return v as number;
  };
  const prob = (key: 'hidden_dropout_prob' | 'attention_probs_dropout_prob'): number => {
    const v = c[key] ?? DEFAULTS[key];
    if (typeof v !== 'number' || v < 0 || v >= 1) fail(key, `must be a number in [0, 1), found ${JSON.stringify(c[key])}`);
    return v as number;
  };
  const act = c.hidden_act ?? DEFAULTS.hidden_act;
  const hiddenAct = typeof act === 'string' ? ACTIVATIONS[act] : undefined;
  if (!hiddenAct) fail('hidden_act', `${JSON.stringify(act)} is not supported; allowed: ${Object.keys(ACTIVATIONS).join(', ')}`);
  const eps = c.layer_norm_eps ?? DEFAULTS.layer_norm_eps;
  if (typeof eps !== 'number' || !(eps > 0)) fail('layer_norm_eps', `must be a positive number, found ${JSON.stringify(c.layer_norm_eps)}`);

  const config: BertConfig = {
    vocabSize: int('vocab_size'),
    hiddenSize: int('hidden_size'),
    numLayers: int('num_hidden_layers'),
    numHeads: int('num_attention_heads'),
    intermediateSize: int('intermediate_size'),
    maxPositions: int('max_position_embeddings'),
    typeVocabSize: int('type_vocab_size'),
    layerNormEps: eps as number,
    hiddenAct: hiddenAct!,
    hiddenDropout: prob('hidden_dropout_prob'),
    attentionDropout: prob('attention_probs_dropout_prob'),
    numLabels: 0,
  };
  if (config.hiddenSize % config.numHeads !== 0)
    fail('num_attention_heads', `hidden_size ${config.hiddenSize} is not divisible by num_attention_heads ${config.numHeads}`);
  validateConfig(config);

  const labels = parseId2Label(c.id2label, file);
  let numLabels: number | null = null;
  if (c.num_labels !== undefined) {
    if (!Number.isInteger(c.num_labels) || (c.num_labels as number) < 1)
      fail('num_labels', `must be a positive integer, found ${JSON.stringify(c.num_labels)}`);
    numLabels = c.num_labels as number;
    if (labels && labels.length !== numLabels) fail('num_labels', `${numLabels} disagrees with id2label, which has ${labels.length} entries`);
  }
  if (c.problem_type !== undefined && c.problem_type !== null && c.problem_type !== 'single_label_classification') {
    warnings.push(
      `${file}: problem_type ${JSON.stringify(c.problem_type)}: prune-once trains classifiers with softmax cross-entropy (single-label); the head is imported as is`,
    );
  }
  if (typeof c.classifier_dropout === 'number' && c.classifier_dropout !== config.hiddenDropout) {
    warnings.push(`${file}: classifier_dropout ${c.classifier_dropout} is not kept; the classifier uses hidden_dropout_prob (${config.hiddenDropout})`);
  }
  return { config, architectures: archs, labels, numLabels, warnings };
}

/** id2label ({"0": "neg", "1": "pos"}) -> labels in id order; ids must be 0..n-1. */
function parseId2Label(raw: unknown, file: string): string[] | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ImportError(`${file}: id2label: expected an object mapping ids to label names, found ${JSON.stringify(raw)}`);
  const entries = Object.entries(raw as Record<string, unknown>);
  const labels: string[] = new Array(entries.length);
  for (const [k, v] of entries) {
    const id = Number(k);
    if (!Number.isInteger(id) || id < 0 || id >= entries.length || labels[id] !== undefined) {
      throw new ImportError(`${file}: id2label: ids must be 0..${entries.length - 1}, each once; found key ${JSON.stringify(k)}`);
    }
    labels[id] = String(v);
  }
  return labels;
}

/** The project's activation -> hidden_act (gelu_new is understood by every transformers version). */
const HF_ACT: Record<BertConfig['hiddenAct'], string> = { gelu: 'gelu', gelu_tanh: 'gelu_new', relu: 'relu' };

/** BertConfig -> a transformers config.json object. */
export function toHfConfig(
  cfg: BertConfig,
  opts: { architectures: string[]; labels?: readonly string[]; padTokenId?: number; version?: string },
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    architectures: opts.architectures,
    model_type: 'bert',
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.hiddenSize,
    num_hidden_layers: cfg.numLayers,
    num_attention_heads: cfg.numHeads,
    intermediate_size: cfg.intermediateSize,
    hidden_act: HF_ACT[cfg.hiddenAct],
    hidden_dropout_prob: cfg.hiddenDropout,
    attention_probs_dropout_prob: cfg.attentionDropout,
    max_position_embeddings: cfg.maxPositions,
    type_vocab_size: cfg.typeVocabSize,
    initializer_range: 0.02,
    layer_norm_eps: cfg.layerNormEps,
    pad_token_id: opts.padTokenId ?? 0,
    position_embedding_type: 'absolute',
    classifier_dropout: null,
    torch_dtype: 'float32',
  };
  if (cfg.numLabels > 0) {
    const labels = opts.labels && opts.labels.length === cfg.numLabels ? opts.labels : Array.from({ length: cfg.numLabels }, (_, i) => `LABEL_${i}`);
    out.id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
    out.label2id = Object.fromEntries(labels.map((l, i) => [l, i]));
    out.problem_type = 'single_label_classification';
  }
  if (opts.version) out.prune_once_version = opts.version;
  return out;
}
