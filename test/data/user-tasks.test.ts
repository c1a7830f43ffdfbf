import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTask } from '../../src/data/tasks.js';
import { jsonlTask, sortLabels, tsvTask } from '../../src/data/user-tasks.js';
import { tempDir } from '../helpers.js';

const dir = tempDir('prune-once-tasks-');
const file = (name: string, lines: string[]) => {
  const path = join(dir, name);
  writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
  return path;
};

describe('TSV tasks', () => {
  const train = file('train.tsv', ['sentence\tlabel', 'a fine film\t1', 'dull\t0', 'great fun\t1']);
  const dev = file('dev.tsv', ['sentence\tlabel', 'good\t1', 'bad\t0', 'nice\t1', 'awful\t0', 'nice\t1']);

  it('reads sentence/label columns with labels sorted from the training file', () => {
    const test = file('test.tsv', ['label\tsentence', '0\tmeh']);
    const task = tsvTask({ train, dev, test }, { name: 'sst' });
    expect(task.name).toBe('sst');
    expect(task.labels).toEqual(['0', '1']);
    expect(task.train).toEqual([
      { text: 'a fine film', label: 1, group: 'train.tsv:2' },
      { text: 'dull', label: 0, group: 'train.tsv:3' },
      { text: 'great fun', label: 1, group: 'train.tsv:4' },
    ]);
    expect(task.test).toEqual([{ text: 'meh', label: 0, group: 'test.tsv:2' }]);
    expect(task.description).toContain('0=0, 1=1');
  });

  it('reads sentence pairs and splits dev in half when there is no test file', () => {
    const ptrain = file('pairs.tsv', [
      'index\tsentence1\tsentence2\tlabel',
      '0\tA man sleeps.\tA person rests.\tentailment',
      '1\tA dog.\tA cat.\tcontradiction',
    ]);
    const pdev = file('pairs-dev.tsv', [
      'index\tsentence1\tsentence2\tlabel',
      ...Array.from({ length: 10 }, (_, i) => `${i}\tp${i}\th${i}\t${i % 2 ? 'entailment' : 'contradiction'}`),
    ]);
    const task = tsvTask({ train: ptrain, dev: pdev }, { seed: 5 });
    expect(task.labels).toEqual(['contradiction', 'entailment']);
    expect(task.train[0]).toEqual({ text: 'A man sleeps.', textPair: 'A person rests.', label: 1, group: 'pairs.tsv:2' });
    expect(task.dev).toHaveLength(5);
    expect(task.test).toHaveLength(5);
    const entailing = task.test.filter((e) => e.label === 1).length;
    expect([2, 3]).toContain(entailing); // stratified: 5 of each label split 2/3
    const devTexts = new Set(task.dev.map((e) => e.text));
    expect(task.test.some((e) => devTexts.has(e.text))).toBe(false);
    expect(task.description).toMatch(/no test file, so .*pairs-dev\.tsv was split in half \(seed 5/);
    expect(tsvTask({ train: ptrain, dev: pdev }, { seed: 5 }).test).toEqual(task.test);
  });

  it('keeps identical dev texts in the same half', () => {
    const task = tsvTask({ train, dev }, { seed: 2 });
    const halves = [task.dev, task.test].map((xs) => xs.filter((e) => e.text === 'nice').length);
    expect(halves.sort()).toEqual([0, 2]);
    expect(task.description).toMatch(/Labels .*: 0=0, 1=1/);
  });

  it.each([
    [['text\tlabel', 'x\t1'], /bad-a\.tsv line 1: missing column "sentence" in the header/],
    [['sentence\tlabel', 'x\t1', 'y'], /bad-b\.tsv line 3: expected 2 tab-separated columns as in the header, got 1/],
    [['sentence\tlabel', 'x\t1', 'y\t1\textra'], /bad-c\.tsv line 3: expected 2 tab-separated columns as in the header, got 3/],
    [['sentence\tlabel', 'x\t1', ' \t0'], /bad-d\.tsv line 3: empty "sentence"/],
    [['sentence\tlabel', 'x\t'], /bad-e\.tsv line 2: empty "label"/],
    [['sentence\tlabel'], /bad-f\.tsv: no examples found/],
    [[''], /bad-g\.tsv line 1: expected a header row/],
  ])('rejects a bad training file with its name and line (%#)', (lines, message) => {
    const name = `${/bad-\w/.exec(message.source)![0]}.tsv`; // the file name the message must carry
    expect(() => tsvTask({ train: file(name, lines), dev })).toThrow(message);
  });

  it('rejects a dev label that training never saw', () => {
    const badDev = file('dev-unknown.tsv', ['sentence\tlabel', 'ok\t1', 'hmm\t2']);
    expect(() => tsvTask({ train, dev: badDev })).toThrow(
      /dev-unknown\.tsv line 3: label "2" does not occur in the training file .*train\.tsv \(known labels: 0, 1\)/,
    );
  });

  it('accepts custom column names', () => {
    const q = file('qqp.tsv', ['question1\tquestion2\tis_duplicate', 'a?\tb?\t0', 'c?\tc?\t1']);
    const task = tsvTask({ train: q, dev: q, test: q }, { columns: { text: 'question1', textPair: 'question2', label: 'is_duplicate' } });
    expect(task.train[1]).toMatchObject({ text: 'c?', textPair: 'c?', label: 1 });
    expect(() => tsvTask({ train: train, dev: q }, { columns: { textPair: 'nope' } })).toThrow(/train\.tsv line 1: missing column "nope"/);
  });
});

describe('JSONL tasks', () => {
  const train = file('train.jsonl', [
    '{"text":"win money","label":"spam"}',
    '{"sentence":"lunch?","label":"ham"}',
    '{"text":"a","text_pair":"b","label":"ham"}',
  ]);
  const dev = file('dev.jsonl', ['{"text":"hi","label":"ham"}', '{"text":"cash","label":"spam"}']);

  it('reads text/sentence, optional pairs and string labels', () => {
    const task = jsonlTask({ train, dev, test: dev });
    expect(task.name).toBe('train');
    expect(task.labels).toEqual(['ham', 'spam']);
    expect(task.train.map((e) => [e.text, e.textPair, e.label])).toEqual([
      ['win money', undefined, 1],
      ['lunch?', undefined, 0],
      ['a', 'b', 0],
    ]);
  });

  it('sorts integer labels numerically', () => {
    const t = file('ints.jsonl', ['{"text":"a","label":10}', '{"text":"b","label":2}', '{"text":"c","label":0}']);
    expect(jsonlTask({ train: t, dev: t, test: t }).labels).toEqual(['0', '2', '10']);
    expect(sortLabels(['b', 'B', 'a'])).toEqual(['B', 'a', 'b']);
  });

  it.each([
    ['{"text":"a","label":"x"}\n{"text":"b"}\n', /j1\.jsonl line 2: expected "label" to be a non-empty string or an integer, got no "label" field/],
    ['{"text":"a","label":1.5}\n', /j2\.jsonl line 1: expected "label" to be a non-empty string or an integer, got number 1\.5/],
    ['{"text":"","label":"x"}\n', /j3\.jsonl line 1: empty "text"/],
    ['{"label":"x"}\n', /j4\.jsonl line 1: expected a JSON object with a string "text" \(or "sentence"\) field and a "label" .* without "text"/],
    ['{"text":"a","label":"x"}\nnot json\n', /j5\.jsonl line 2: .* got invalid JSON/],
    ['{"text":"a","text_pair":7,"label":"x"}\n', /j6\.jsonl line 1: expected "text_pair" to be a string, got number 7/],
  ])('rejects a bad file with its name and line (%#)', (content, message) => {
    const name = /(j\d)/.exec(message.source)![1];
    const path = join(dir, `${name}.jsonl`);
    writeFileSync(path, content);
    expect(() => jsonlTask({ train: path, dev })).toThrow(message);
  });
});

describe('loadTask', () => {
  it('dispatches on kind and rejects unknown kinds', () => {
    const train = file('lt.jsonl', ['{"text":"a","label":"x"}', '{"text":"b","label":"y"}']);
    expect(loadTask({ kind: 'jsonl', train, dev: train, test: train }).labels).toEqual(['x', 'y']);
    expect(loadTask({ kind: 'sotu-party', seed: 1, maxPerSplit: 10 }).name).toBe('sotu-party');
    expect(() => loadTask({ kind: 'glue' } as never)).toThrow(/unknown task kind "glue"; known: spam-assassin, sotu-party, sotu-era, sotu-next, tsv, jsonl/);
  });
});
