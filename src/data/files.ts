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
