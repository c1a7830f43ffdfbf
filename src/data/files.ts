/**
 * Reading user data files with errors a person can act on: every message names the file, the line
 * (1-based) and what was expected there.
 */
import { readFileSync } from 'node:fs';

export class DataFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    detail: string,
  ) {
    super(line === undefined ? `${file}: ${detail}` : `${file} line ${line}: ${detail}`);
    this.name = 'DataFileError';
  }
}

/** A file's text, decoded as strict UTF-8 (a byte-order mark is dropped). */
export function readUtf8(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new DataFileError(file, undefined, `cannot read the file (${(err as Error).message})`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    // Find the line of the first bad byte sequence so the user can fix it.
    const lossy = new TextDecoder('utf-8').decode(bytes);
    const line = lossy.slice(0, lossy.indexOf('\uFFFD')).split('\n').length;
    throw new DataFileError(file, line, 'invalid UTF-8 (expected a UTF-8 text file)');
  }
}

/** Lines without their terminators (\n or \r\n). A final newline does not make an extra line. */
export function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** A short, single-line rendering of a bad value for an error message. */
export function preview(value: string, max = 60): string {
  const flat = value.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max)}…` : flat);
}

/** A JSON value's kind plus a short preview, for error messages. */
export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array ${preview(JSON.stringify(value))}`;
  if (typeof value === 'string') return `a string ${preview(value)}`;
  if (typeof value === 'object') return `an object ${preview(JSON.stringify(value))}`;
  return `${typeof value} ${String(value)}`;
}

/** One JSON object of a JSONL file and its 1-based line. */
export interface JsonlObject {
  obj: Record<string, unknown>;
  line: number;
}

/**
 * The objects of a JSONL file, one a line; blank lines are skipped. A line that is not a JSON object
 * fails naming the file, the line and `expected` (what a line should hold, e.g. 'expected a JSON
 * object with a string "text" field').
 */
export function jsonlObjects(file: string, expected: string): JsonlObject[] {
  const out: JsonlObject[] = [];
  splitLines(readUtf8(file)).forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new DataFileError(file, line, `${expected}, got invalid JSON (${(err as Error).message}): ${preview(raw)}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DataFileError(file, line, `${expected}, got ${describeJson(value)}`);
    out.push({ obj: value as Record<string, unknown>, line });
  });
  return out;
}

/**
 * The string field of `row` named by the first of `names` present (e.g. "text" or "sentence"), or
 * undefined when none is and it is not `required`. A missing required field, a non-string or (with
 * `nonEmpty`) a blank string fails naming the file and line; `expected` says what the line should hold.
 */
export function jsonlString(
  file: string,
  row: JsonlObject,
  names: string[],
  opts: { required: boolean; nonEmpty: boolean; expected: string },
): string | undefined {
  const { obj, line } = row;
  const name = names.find((n) => n in obj);
  if (name === undefined) {
    if (opts.required)
      throw new DataFileError(file, line, `${opts.expected}, got an object without "${names[0]}" (fields: ${Object.keys(obj).join(', ') || 'none'})`);
    return undefined;
  }
  const v = obj[name];
  if (typeof v !== 'string') throw new DataFileError(file, line, `expected "${name}" to be a string, got ${describeJson(v)}`);
  if (opts.nonEmpty && v.trim() === '') throw new DataFileError(file, line, `empty "${name}" (expected a non-empty string)`);
  return v;
}

/** A TSV file: its header's column names and each further non-blank line's cells, with the line (1-based). */
export interface TsvTable {
  header: string[];
  rows: { cells: string[]; line: number }[];
}

/**
 * A tab-separated file with a header row (no quoting). `wanted` names the columns the caller needs,
 * for the message on an empty header. A row whose cell count differs from the header's fails naming
 * the file and line.
 */
export function tsvTable(file: string, wanted: string): TsvTable {
  const lines = splitLines(readUtf8(file));
  if (lines.length === 0 || lines[0].trim() === '')
    throw new DataFileError(
      file,
      1,
      `expected a header row of tab-separated column names including ${wanted}, got ${lines.length === 0 ? 'an empty file' : 'an empty line'}`,
    );
  const header = lines[0].split('\t').map((h) => h.trim());
  const rows: TsvTable['rows'] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const cells = lines[i].split('\t');
    if (cells.length !== header.length)
      throw new DataFileError(file, i + 1, `expected ${header.length} tab-separated columns as in the header, got ${cells.length}: ${preview(lines[i])}`);
    rows.push({ cells, line: i + 1 });
  }
  return { header, rows };
}
