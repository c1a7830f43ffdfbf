import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { splitDocuments } from '../../src/data/split.js';
import { textFileDocuments } from '../../src/data/text-files.js';
import { tempDir } from '../helpers.js';

const dir = tempDir('prune-once-data-');
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

describe('text corpus files', () => {
  it('reads a .txt file as one document per paragraph', () => {
    const path = file('corpus.txt', '\uFEFFFirst paragraph\r\nstill first.\r\n\r\n\r\nSecond  one.\n   \nThird.\n');
    const docs = textFileDocuments(path);
    expect(docs).toEqual([
      { id: 'corpus.txt:1', text: 'First paragraph still first.', group: 'corpus.txt:1' },
      { id: 'corpus.txt:5', text: 'Second one.', group: 'corpus.txt:5' },
      { id: 'corpus.txt:7', text: 'Third.', group: 'corpus.txt:7' },
    ]);
    const { train, heldOut } = splitDocuments(docs, { heldOutFraction: 0.3, seed: 1 });
    expect(train.length + heldOut.length).toBe(3);
    expect(heldOut.length).toBeGreaterThan(0);
  });

  it('reads a .jsonl file as one document per line, with optional id and group', () => {
    const path = file('corpus.jsonl', '{"text": "a b"}\n\n{"text":"c", "id": "x", "group": "art1"}\n{"text":"d","group":"art1"}\n');
    expect(textFileDocuments(path)).toEqual([
      { id: 'corpus.jsonl:1', text: 'a b', group: 'corpus.jsonl:1' },
      { id: 'x', text: 'c', group: 'art1' },
      { id: 'corpus.jsonl:4', text: 'd', group: 'art1' },
    ]);
  });

  it.each([
    ['{"text":"ok"}\n{"text":"ok"}\n[1,2]\n', 'bad1.jsonl', /bad1\.jsonl line 3: expected a JSON object with a string "text" field, got an array/],
    ['{"text":"ok"}\n{"text": 5}\n', 'bad2.jsonl', /bad2\.jsonl line 2: expected a JSON object with a string "text" field, got "text": number 5/],
    ['{"body":"x"}\n', 'bad3.jsonl', /bad3\.jsonl line 1: .*without "text" \(fields: body\)/],
    ['{"text":"ok"}\n{"text": "a",\n', 'bad4.jsonl', /bad4\.jsonl line 2: expected a JSON object .* got invalid JSON/],
    ['{"text":"  "}\n', 'bad5.jsonl', /bad5\.jsonl line 1: expected a non-empty "text"/],
    ['{"text":"a","group":3}\n', 'bad6.jsonl', /bad6\.jsonl line 1: expected "group" to be a string, got number 3/],
    ['\n\n  \n', 'empty.txt', /empty\.txt: no text found/],
    ['text', 'corpus.csv', /corpus\.csv: unsupported corpus file type "\.csv" \(expected \.txt or \.jsonl\)/],
  ])('rejects a bad file with its name and line (%#)', (content, name, message) => {
    expect(() => textFileDocuments(file(name, content))).toThrow(message);
  });

  it('names the line of invalid UTF-8 and a missing file', () => {
    const path = file('latin1.txt', Buffer.concat([Buffer.from('ok\nfine\ncaf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    expect(() => textFileDocuments(path)).toThrow(/latin1\.txt line 3: invalid UTF-8/);
    expect(() => textFileDocuments(join(dir, 'missing.txt'))).toThrow(/missing\.txt: cannot read the file/);
  });
});
