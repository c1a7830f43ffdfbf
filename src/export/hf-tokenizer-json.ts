/**
 * prune-once's WordPiece tokenizer (src/tokenizer/wordpiece.ts) as a Hugging Face `tokenizer.json`
 * (the tokenizers library's format, which transformers.js and Python's fast tokenizers read), and
 * back: the vocabulary and casing of a `tokenizer.json` this module wrote.
 *
 * The pieces and why each is what prune-once does:
 * - normalizer BertNormalizer: clean_text (drop controls, whitespace -> space), handle_chinese_chars
 *   (spaces around CJK ideographs), lowercase + accent stripping exactly when prune-once lower-cases;
 * - pre_tokenizer BertPreTokenizer (split on whitespace and around punctuation), then a Split that
 *   isolates the CJK ideographs outside the Basic Multilingual Plane: transformers.js's BertNormalizer
 *   tests UTF-16 code units, so it misses U+20000.. (prune-once and Python split them);
 * - model WordPiece, `##` continuations, [UNK] for words over MAX_WORD_CHARS code points;
 * - post_processor TemplateProcessing `[CLS] $A [SEP] $B:1 [SEP]:1` (BERT's type ids);
 * - truncation at the task's sequence length, longest first (what Python's tokenizers apply;
 *   transformers.js truncates by `model_max_length` in tokenizer_config.json instead).
 */
import { readFileSync } from 'node:fs';
import { MAX_WORD_CHARS, SPECIAL_TOKENS } from '../tokenizer/index.js';
import { writeJsonAtomic } from '../util/fs.js';

/** CJK ideograph ranges of BERT's `_is_chinese_char` beyond U+FFFF, as a character class of literal code points. */
const ASTRAL_CJK: Array<[number, number]> = [
  [0x20000, 0x2a6df],
  [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f],
  [0x2b820, 0x2ceaf],
  [0x2f800, 0x2fa1f],
];
export const ASTRAL_CJK_CLASS = `[${ASTRAL_CJK.map(([a, b]) => `${String.fromCodePoint(a)}-${String.fromCodePoint(b)}`).join('')}]`;

export interface TokenizerJsonOptions {
  vocab: readonly string[];
  lowercase: boolean;
  /** Truncation length (the task's sequence length, special tokens included). */
  maxLength: number;
}

/** The `tokenizer.json` object for a prune-once WordPiece vocabulary. */
export function tokenizerJson(o: TokenizerJsonOptions): Record<string, unknown> {
  const id = (t: string) => {
    const i = o.vocab.indexOf(t);
    if (i < 0) throw new Error(`the vocabulary lacks ${t}; a BERT WordPiece vocabulary needs ${Object.values(SPECIAL_TOKENS).join(', ')}`);
    return i;
  };
  const special = Object.values(SPECIAL_TOKENS)
    .map((t) => ({ id: id(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
    .sort((a, b) => a.id - b.id);
  const tok = (t: string, type: number) => ({ SpecialToken: { id: t, type_id: type } });
  const seq = (s: 'A' | 'B', type: number) => ({ Sequence: { id: s, type_id: type } });
  const { cls, sep } = SPECIAL_TOKENS;
  return {
    version: '1.0',
    truncation: { direction: 'Right', max_length: o.maxLength, strategy: 'LongestFirst', stride: 0 },
    padding: null,
    added_tokens: special,
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: o.lowercase ? null : false, lowercase: o.lowercase },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [{ type: 'BertPreTokenizer' }, { type: 'Split', pattern: { Regex: ASTRAL_CJK_CLASS }, behavior: 'Isolated', invert: false }],
    },
    post_processor: {
      type: 'TemplateProcessing',
      single: [tok(cls, 0), seq('A', 0), tok(sep, 0)],
      pair: [tok(cls, 0), seq('A', 0), tok(sep, 0), seq('B', 1), tok(sep, 1)],
      special_tokens: Object.fromEntries([cls, sep].map((t) => [t, { id: t, ids: [id(t)], tokens: [t] }])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: SPECIAL_TOKENS.unk,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: MAX_WORD_CHARS,
      vocab: Object.fromEntries(o.vocab.map((t, i) => [t, i])),
    },
  };
}

/** `tokenizer_config.json` for transformers.js and Python: BertTokenizer settings, truncation length. */
export function tokenizerConfigJson(o: Omit<TokenizerJsonOptions, 'vocab'>): Record<string, unknown> {
  return {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: o.lowercase,
    strip_accents: o.lowercase ? null : false,
    tokenize_chinese_chars: true,
    model_max_length: o.maxLength,
    padding_side: 'right',
    truncation_side: 'right',
    ...specialTokensMap(),
    clean_up_tokenization_spaces: true,
  };
}

export function specialTokensMap(): Record<string, string> {
  const s = SPECIAL_TOKENS;
  return { unk_token: s.unk, sep_token: s.sep, pad_token: s.pad, cls_token: s.cls, mask_token: s.mask };
}

/** Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json into `dir`; returns the paths. */
export function writeTokenizerJsonFiles(dir: string, o: TokenizerJsonOptions): string[] {
  const files: Array<[string, unknown]> = [
    [`${dir}/tokenizer.json`, tokenizerJson(o)],
    [`${dir}/tokenizer_config.json`, tokenizerConfigJson(o)],
    [`${dir}/special_tokens_map.json`, specialTokensMap()],
  ];
  for (const [path, value] of files) writeJsonAtomic(path, value);
  return files.map(([p]) => p);
}

/**
 * The vocabulary (index = id) and casing of a WordPiece `tokenizer.json`, checked to be the kind this
 * module writes (BertNormalizer + WordPiece), so prune-once's tokenizer reproduces it.
 */
export function readTokenizerJson(path: string): { vocab: string[]; lowercase: boolean } {
  let j: { normalizer?: { type?: string; lowercase?: boolean }; model?: { type?: string; vocab?: Record<string, number> } };
  try {
    j = JSON.parse(readFileSync(path, 'utf8')) as typeof j;
  } catch (e) {
    throw new Error(`${path}: not readable JSON (${(e as Error).message})`);
  }
  if (j.model?.type !== 'WordPiece' || !j.model.vocab || typeof j.model.vocab !== 'object')
    throw new Error(`${path}: model.type is ${JSON.stringify(j.model?.type)}; prune-once reads WordPiece tokenizers (model.type "WordPiece" with a vocab)`);
  if (j.normalizer?.type !== 'BertNormalizer')
    throw new Error(`${path}: normalizer.type is ${JSON.stringify(j.normalizer?.type)}; prune-once's tokenizer is BERT's (normalizer.type "BertNormalizer")`);
  const entries = Object.entries(j.model.vocab);
  const vocab: string[] = new Array<string>(entries.length);
  for (const [t, i] of entries) {
    if (!Number.isInteger(i) || i < 0 || i >= entries.length || vocab[i] !== undefined)
      throw new Error(`${path}: model.vocab maps ${JSON.stringify(t)} to ${i}; ids must be 0..${entries.length - 1}, each once`);
    vocab[i] = t;
  }
  return { vocab, lowercase: j.normalizer.lowercase !== false };
}
