/**
 * `predict --input` files: the TSV and JSONL readers it shares with user tasks (src/data/files.ts),
 * with predict's own rules (empty texts allowed, labels optional) and errors naming the file and line.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPredictInputs } from '../../src/predict/inputs.js';
import { tempDir } from '../helpers.js';

const dir = tempDir('prune-once-predict-inputs-');
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('predict input files', () => {
  it('reads JSONL texts, pairs and labels (string or integer), skipping blank lines and keeping empty texts', () => {
    const p = file('ok.jsonl', '{"text": "win cash", "label": "spam"}\n\n{"sentence": "", "sentence2": "b", "label": 1}\n{"text": "no label"}\n');
    expect(readPredictInputs(p)).toEqual([
      { text: 'win cash', label: 'spam', where: `${p}:1` },
      { text: '', textPair: 'b', label: '1', where: `${p}:3` },
      { text: 'no label', where: `${p}:4` },
    ]);
  });

  it('reads TSV by header names, the label optional', () => {
    const p = file('ok.tsv', 'label\ttext\ttext_pair\nham\thello\tthere\n\nspam\twin\tcash\n');
    expect(readPredictInputs(p)).toEqual([
      { text: 'hello', textPair: 'there', label: 'ham', where: `${p}:2` },
      { text: 'win', textPair: 'cash', label: 'spam', where: `${p}:4` },
    ]);
    expect(readPredictInputs(file('nolabel.tsv', 'sentence\nhi\n'))).toEqual([{ text: 'hi', where: `${dir}/nolabel.tsv:2` }]);
  });

  it.each([
    ['a.jsonl', '{"text": "fine"}\n\n{"text": 42}\n', 'line 3: expected "text" to be a string, got number 42'],
    ['b.jsonl', '{"text": "fine"}\n{not json}\n', 'line 2: expected a JSON object with a string "text" (or "sentence") field, got invalid JSON'],
    ['c.jsonl', '[1, 2]\n', 'line 1: expected a JSON object with a string "text" (or "sentence") field, got an array'],
    ['d.jsonl', '{"words": "x"}\n', 'line 1: expected a JSON object with a string "text" (or "sentence") field, got an object without "text" (fields: words)'],
    ['e.jsonl', '{"text": "x", "label": 1.5}\n', 'line 1: expected "label" to be a string or an integer, got number 1.5'],
    ['f.tsv', 'sentence\tlabel\nhello\tham\ntoo\tmany\tcells\n', 'line 3: expected 2 tab-separated columns as in the header, got 3'],
    ['g.tsv', 'words\tlabel\nhello\tham\n', 'line 1: missing column "sentence" (or "text")'],
    ['h.tsv', '', 'line 1: expected a header row of tab-separated column names including "sentence" (or "text"), got an empty file'],
    ['i.csv', 'a,b\n', 'unknown input format ".csv"'],
  ])('refuses %s naming the file, the line and what was expected', (name, text, message) => {
    const p = file(name, text);
    expect(() => readPredictInputs(p)).toThrow(`${p}${message.startsWith('line') ? ' ' : ': '}${message}`);
  });
});
