/**
 * BERT's WordPiece tokenizer, following Google's `tokenization.py` (BasicTokenizer + WordpieceTokenizer)
 * so that ids match what bert-base-uncased was trained on:
 *
 * 1. clean: drop NUL, U+FFFD and control characters (categories Cc, Cf, except \t \n \r), and turn
 *    whitespace (space, \t, \n, \r, category Zs, and U+2028/2029, on which BERT's str.split() splits)
 *    into spaces;
 * 2. put spaces around CJK ideographs, so that each is its own word;
 * 3. when lowercasing: lower-case, NFD, drop combining marks (Mn), i.e. "Héllo" -> "hello";
 * 4. split on whitespace and around every punctuation character (ASCII 33-47, 58-64, 91-96, 123-126
 *    and Unicode P*);
 * 5. WordPiece each word: greedy longest match first, continuation pieces prefixed `##`; a word longer
 *    than 100 characters, or one that cannot be matched to the end, becomes a single [UNK].
 *
 * Steps 1-4 run on the whole text at once with regular expressions (much faster than per character in
 * JS). That is equivalent to BERT's per-word order: lower-casing and NFD never move text across a space
 * (Final_Sigma context stops at whitespace, canonical reordering stops at a starter), and splitting on
 * punctuation after NFD keeps BERT's behaviour for characters that decompose to punctuation.
 *
 * Words -> piece ids are cached, so a corpus costs one WordPiece search per distinct word.
 */
import type { Tokenizer } from './types.js';

export interface WordPieceOptions {
  /** Uncased models: lower-case and strip accents before WordPiece. */
  lowercase: boolean;
  /** Where the vocabulary came from; named in errors and in `describe()`. */
  vocabSource: string;
}

/** The special tokens every BERT vocabulary must hold. */
export const SPECIAL_TOKENS = { pad: '[PAD]', unk: '[UNK]', cls: '[CLS]', sep: '[SEP]', mask: '[MASK]' } as const;

/** Words longer than this many code points become [UNK] (Hugging Face's BERT value; Google's class defaults to 200). */
export const MAX_WORD_CHARS = 100;

/** Caches beyond this many distinct words are dropped and rebuilt, bounding memory on huge inputs. */
const MAX_CACHE_ENTRIES = 1 << 20;

/** Control (Cc, Cf) characters except \t \n \r, plus U+FFFD; NUL is Cc. Unassigned/private-use stay, as in BERT. */
const REMOVED = /[^\P{Cc}\t\n\r]|\p{Cf}|\uFFFD/gu;
/**
 * BERT's whitespace (space, \t, \n, \r, Zs), plus U+2028/U+2029, which BERT's `str.split()` also
 * splits on.
 */
const WHITESPACE = /[\t\n\r\p{Zs}\u2028\u2029]/gu;
/** The code-point ranges of BERT's `_is_chinese_char`. */
const CJK =
  /[\u{4E00}-\u{9FFF}\u{3400}-\u{4DBF}\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}\u{2B820}-\u{2CEAF}\u{F900}-\u{FAFF}\u{2F800}-\u{2FA1F}]/gu;
const COMBINING_MARKS = /\p{Mn}/gu;
const ASCII_ONLY = /^[\x00-\x7F]*$/;
/** Split points: runs of spaces (dropped) and single punctuation characters (kept, captured). */
const SPLIT = / +|([!-\/:-@\[-`{-~]|\p{P})/u;

/** BERT's BasicTokenizer (steps 1-4): text -> words; punctuation and CJK ideographs are words of their own. */
export function basicTokenize(text: string, lowercase: boolean): string[] {
  let s = text.replace(REMOVED, '').replace(WHITESPACE, ' ').replace(CJK, ' $& ');
  if (lowercase) {
    s = s.toLowerCase();
    if (!ASCII_ONLY.test(s)) s = s.normalize('NFD').replace(COMBINING_MARKS, '');
  }
  const words: string[] = [];
  for (const w of s.split(SPLIT)) if (w) words.push(w);
  return words;
}

export class WordPieceTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly special: { pad: number; unk: number; cls: number; sep: number; mask: number };
  readonly lowercase: boolean;
  readonly vocabSource: string;
  private readonly tokens: readonly string[];
  private readonly ids: Map<string, number>;
  /** Longest vocabulary entry in code points (without `##`): no longer match needs trying. */
  private readonly maxPieceChars: number;
  private readonly cache = new Map<string, readonly number[]>();

  constructor(vocab: readonly string[], opts: WordPieceOptions) {
    this.lowercase = opts.lowercase;
    this.vocabSource = opts.vocabSource;
    if (vocab.length === 0) throw new Error(`Vocabulary ${opts.vocabSource} is empty`);
    this.tokens = Object.freeze(vocab.slice());
    this.ids = indexTokens(this.tokens, opts.vocabSource);
    this.vocabSize = this.tokens.length;
    this.special = specialIds(this.ids, opts.vocabSource);
    let longest = 0;
    for (const t of this.tokens) longest = Math.max(longest, codePointLength(t.startsWith('##') ? t.slice(2) : t));
    this.maxPieceChars = longest;
  }

  /** The vocabulary, index = id. */
  get vocab(): readonly string[] {
    return this.tokens;
  }

  /** The id of a vocabulary entry (e.g. `'##ing'`), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** BERT's BasicTokenizer with this tokenizer's casing: text -> words. */
  basicTokenize(text: string): string[] {
    return basicTokenize(text, this.lowercase);
  }

  /** WordPiece ids of one word from `basicTokenize` ([UNK] alone if it cannot be matched). Cached. */
  wordPieceIds(word: string): readonly number[] {
    let ids = this.cache.get(word);
    if (ids === undefined) {
      ids = Object.freeze(this.greedyMatch(word));
      if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
      this.cache.set(word, ids);
    }
    return ids;
  }

  tokenize(text: string): string[] {
    return this.encode(text).map((id) => this.tokens[id]);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const word of this.basicTokenize(text)) for (const id of this.wordPieceIds(word)) out.push(id);
    return out;
  }

  idsToTokens(ids: number[]): string[] {
    return ids.map((id) => {
      const t = Number.isInteger(id) ? this.tokens[id] : undefined;
      if (t === undefined) throw new RangeError(`Token id ${id} is not in vocabulary ${this.vocabSource} (ids 0..${this.vocabSize - 1})`);
      return t;
    });
  }

  describe(): { kind: 'wordpiece'; lowercase: boolean; vocabSize: number; vocabSource: string } {
    return { kind: 'wordpiece', lowercase: this.lowercase, vocabSize: this.vocabSize, vocabSource: this.vocabSource };
  }

  /** Greedy longest-match-first, exactly as BERT's WordpieceTokenizer (lengths in code points). */
  private greedyMatch(word: string): number[] {
    // offsets[i] = UTF-16 offset of code point i, so pieces never split a surrogate pair.
    const offsets: number[] = [];
    for (let i = 0; i < word.length; i++) {
      const c = word.charCodeAt(i);
      if (c < 0xdc00 || c > 0xdfff || i === 0 || !isHighSurrogate(word.charCodeAt(i - 1))) offsets.push(i);
    }
    const n = offsets.length;
    offsets.push(word.length);
    if (n > MAX_WORD_CHARS) return [this.special.unk];
    const pieces: number[] = [];
    let start = 0;
    while (start < n) {
      let end = Math.min(n, start + this.maxPieceChars);
      let id: number | undefined;
      for (; end > start; end--) {
        const sub = word.slice(offsets[start], offsets[end]);
        id = this.ids.get(start > 0 ? `##${sub}` : sub);
        if (id !== undefined) break;
      }
      if (id === undefined) return [this.special.unk];
      pieces.push(id);
      start = end;
    }
    return pieces;
  }
}

function indexTokens(tokens: readonly string[], source: string): Map<string, number> {
  const ids = new Map<string, number>();
  tokens.forEach((t, id) => {
    if (typeof t !== 'string' || t === '') throw new Error(`Vocabulary ${source}: entry ${id} is ${JSON.stringify(t)}; expected a non-empty string`);
    const first = ids.get(t);
    if (first !== undefined) throw new Error(`Vocabulary ${source}: token ${JSON.stringify(t)} appears twice (ids ${first} and ${id}); ids would be ambiguous`);
    ids.set(t, id);
  });
  return ids;
}

function specialIds(ids: Map<string, number>, source: string): WordPieceTokenizer['special'] {
  const missing = Object.values(SPECIAL_TOKENS).filter((t) => !ids.has(t));
  if (missing.length > 0) {
    throw new Error(
      `Vocabulary ${source} lacks the special token(s) ${missing.join(', ')}; a BERT WordPiece vocabulary needs ${Object.values(SPECIAL_TOKENS).join(', ')}`,
    );
  }
  const id = (t: string) => ids.get(t) as number;
  return Object.freeze({
    pad: id(SPECIAL_TOKENS.pad),
    unk: id(SPECIAL_TOKENS.unk),
    cls: id(SPECIAL_TOKENS.cls),
    sep: id(SPECIAL_TOKENS.sep),
    mask: id(SPECIAL_TOKENS.mask),
  });
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
