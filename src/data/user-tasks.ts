/**
 * Classification tasks from a user's files: GLUE-style TSV (header row, tab-separated, no quoting,
 * one example per line) or JSONL (one JSON object per line).
 *
 * Label names are collected from the training file and sorted (numerically when all are integers,
 * as GLUE's "0"/"1", else by code point), so label i is the i-th name. A dev/test label not seen in
 * training is an error. Without a test file, the dev file is split in half (seeded, stratified by
 * label, identical texts kept together): dev gets one half, test the other.
 */
import { basename, extname } from 'node:path';
import { splitCounts } from './describe.js';
import { DataFileError, describeJson, jsonlObjects, jsonlString, tsvTable } from './files.js';
import { splitByGroup } from './split.js';
import type { Example, TaskData } from './types.js';

export interface TaskFiles {
  train: string;
  dev: string;
  test?: string;
}

export interface UserTaskOptions {
  /** Seed of the dev/test halving when there is no test file (default 0). */
  seed?: number;
  /** Task name (default: the training file's name without extension). */
  name?: string;
}

export interface TsvColumns {
  /** Default "sentence" (or "sentence1" when there is no "sentence"). */
  text?: string;
  /** Default "sentence2" when present. */
  textPair?: string;
  /** Default "label". */
  label?: string;
}

/** One parsed line before labels are turned into ids. */
interface RawExample {
  text: string;
  textPair?: string;
  label: string;
  file: string;
  line: number;
}

export function tsvTask(files: TaskFiles, opts: UserTaskOptions & { columns?: TsvColumns } = {}): TaskData {
  return buildTask(files, opts, 'TSV', (file) => parseTsv(file, opts.columns ?? {}));
}

export function jsonlTask(files: TaskFiles, opts: UserTaskOptions = {}): TaskData {
  return buildTask(files, opts, 'JSONL', parseJsonl);
}

function parseTsv(file: string, columns: TsvColumns): RawExample[] {
  const { header, rows } = tsvTable(file, '"sentence" and "label"');
  const find = (wanted: string | undefined, fallbacks: string[], required: boolean): number => {
    const names = wanted ? [wanted] : fallbacks;
    const i = header.findIndex((h) => names.includes(h));
    if (i < 0 && required) {
      throw new DataFileError(
        file,
        1,
        `missing column "${names[0]}" in the header (expected tab-separated column names including "${names[0]}"; got ${header.map((h) => JSON.stringify(h)).join(', ')})`,
      );
    }
    return i;
  };
  const textCol = find(columns.text, ['sentence', 'sentence1'], true);
  const labelCol = find(columns.label, ['label'], true);
  const pairCol = find(columns.textPair, ['sentence2'], columns.textPair !== undefined);
  return rows.map(({ cells, line }) => {
    const cell = (col: number, name: string) => {
      const v = cells[col].trim();
      if (v === '') throw new DataFileError(file, line, `empty "${name}" (expected a non-empty value in column ${col + 1})`);
      return v;
    };
    return {
      text: cell(textCol, header[textCol]),
      textPair: pairCol >= 0 ? cell(pairCol, header[pairCol]) : undefined,
      label: cell(labelCol, header[labelCol]),
      file,
      line,
    };
  });
}

function parseJsonl(file: string): RawExample[] {
  const expected = 'expected a JSON object with a string "text" (or "sentence") field and a "label" (string or integer)';
  return jsonlObjects(file, expected).map((row) => {
    const { obj, line } = row;
    const field = (names: string[], required: boolean) => jsonlString(file, row, names, { required, nonEmpty: true, expected })?.trim();
    const text = field(['text', 'sentence'], true)!;
    const textPair = field(['text_pair', 'sentence2'], false);
    const label = obj.label;
    if (!(typeof label === 'string' && label.trim() !== '') && !Number.isInteger(label)) {
      throw new DataFileError(
        file,
        line,
        `expected "label" to be a non-empty string or an integer, got ${'label' in obj ? describeJson(label) : 'no "label" field'}`,
      );
    }
    return { text, textPair, label: String(label).trim(), file, line };
  });
}

/** Sorted label names: numerically when every name is an integer, else by code point. */
export function sortLabels(names: Iterable<string>): string[] {
  const unique = [...new Set(names)];
  if (unique.every((n) => /^-?\d+$/.test(n))) return unique.sort((a, b) => Number(a) - Number(b));
  return unique.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function buildTask(files: TaskFiles, opts: UserTaskOptions, format: string, parse: (file: string) => RawExample[]): TaskData {
  const seed = opts.seed ?? 0;
  const nonEmpty = (file: string) => {
    const rows = parse(file);
    if (rows.length === 0)
      throw new DataFileError(file, undefined, `no examples found (expected one example per line${format === 'TSV' ? ' after the header' : ''})`);
    return rows;
  };
  const trainRaw = nonEmpty(files.train);
  const labels = sortLabels(trainRaw.map((r) => r.label));
  if (labels.length < 2)
    throw new DataFileError(
      files.train,
      undefined,
      `holds one class (${JSON.stringify(labels[0])}) in its ${trainRaw.length} examples; a classifier needs at least 2: add examples of the other classes`,
    );
  const index = new Map(labels.map((l, i) => [l, i]));
  const toExample = (r: RawExample): Example => {
    const label = index.get(r.label);
    if (label === undefined) {
      throw new DataFileError(
        r.file,
        r.line,
        `label ${JSON.stringify(r.label)} does not occur in the training file ${files.train} (known labels: ${labels.join(', ')})`,
      );
    }
    return { text: r.text, ...(r.textPair !== undefined ? { textPair: r.textPair } : {}), label, group: `${basename(r.file)}:${r.line}` };
  };
  const train = trainRaw.map(toExample);
  let dev = nonEmpty(files.dev).map(toExample);
  let test: Example[];
  let how: string;
  if (files.test !== undefined) {
    test = nonEmpty(files.test).map(toExample);
    how = `train ${files.train}, dev ${files.dev}, test ${files.test}`;
  } else {
    // splitByGroup's "test" share is one half; its "train" share (the rest) is the new dev.
    const halves = splitByGroup(dev, { groupOf: (e) => `${e.text}\t${e.textPair ?? ''}`, stratumOf: (e) => String(e.label), dev: 0, test: 0.5, seed });
    dev = halves.train;
    test = halves.test;
    how = `train ${files.train}; no test file, so ${files.dev} was split in half (seed ${seed}, stratified by label, identical texts kept together) into dev and test`;
  }
  const trainTexts = new Set(train.map((e) => `${e.text}\t${e.textPair ?? ''}`));
  const overlap = [...dev, ...test].filter((e) => trainTexts.has(`${e.text}\t${e.textPair ?? ''}`)).length;
  const description =
    `${format} files: ${how}. Labels (sorted names from the training file): ${labels.map((l, i) => `${i}=${l}`).join(', ')}. ` +
    splitCounts(labels, { train, dev, test }) +
    `.${overlap > 0 ? ` Warning: ${overlap} dev/test examples have the same text as a training example.` : ''}`;
  const name = opts.name ?? basename(files.train, extname(files.train));
  return { name, labels, train, dev, test, description };
}
