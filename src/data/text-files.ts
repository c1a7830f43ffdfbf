/**
 * A user's pre-training text: `.txt` (paragraphs separated by blank lines, one Document each) or
 * `.jsonl` (one JSON object per line with a string "text" field; optional string "id" and "group").
 */
import { basename, extname } from 'node:path';
import { DataFileError, describeJson, jsonlObjects, readUtf8, splitLines } from './files.js';
import type { Document } from './types.js';

export function textFileDocuments(path: string): Document[] {
  const ext = extname(path).toLowerCase();
  if (ext === '.txt') return txtDocuments(path);
  if (ext === '.jsonl') return jsonlDocuments(path);
  throw new DataFileError(path, undefined, `unsupported corpus file type "${ext || '(none)'}" (expected .txt or .jsonl)`);
}

/**
 * One Document per paragraph; lines inside a paragraph are joined with spaces. Each paragraph is its
 * own group: a plain text file says nothing about which paragraphs belong together.
 */
function txtDocuments(path: string): Document[] {
  const name = basename(path);
  const docs: Document[] = [];
  let lines: string[] = [];
  let start = 0;
  const flush = () => {
    if (lines.length === 0) return;
    const id = `${name}:${start}`;
    docs.push({ id, text: lines.join(' ').replace(/\s+/g, ' ').trim(), group: id });
    lines = [];
  };
  splitLines(readUtf8(path)).forEach((line, i) => {
    if (line.trim() === '') return flush();
    if (lines.length === 0) start = i + 1;
    lines.push(line);
  });
  flush();
  if (docs.length === 0) throw new DataFileError(path, undefined, 'no text found (expected paragraphs separated by blank lines)');
  return docs;
}

/**
 * One Document per line. Without a "group" field each line is its own group; give the lines of one
 * article the same "group" to keep them on the same side of a held-out split.
 */
function jsonlDocuments(path: string): Document[] {
  const name = basename(path);
  const docs: Document[] = [];
  const expected = 'expected a JSON object with a string "text" field';
  for (const { obj, line: n } of jsonlObjects(path, expected)) {
    if (typeof obj.text !== 'string') {
      throw new DataFileError(
        path,
        n,
        `${expected}, got ${'text' in obj ? `"text": ${describeJson(obj.text)}` : `an object without "text" (fields: ${Object.keys(obj).join(', ') || 'none'})`}`,
      );
    }
    const text = obj.text.replace(/\s+/g, ' ').trim();
    if (text === '') throw new DataFileError(path, n, 'expected a non-empty "text" field, got an empty string');
    for (const k of ['id', 'group'] as const) {
      if (k in obj && typeof obj[k] !== 'string') throw new DataFileError(path, n, `expected "${k}" to be a string, got ${describeJson(obj[k])}`);
    }
    const id = (obj.id as string | undefined) ?? `${name}:${n}`;
    docs.push({ id, text, group: (obj.group as string | undefined) ?? id });
  }
  if (docs.length === 0) throw new DataFileError(path, undefined, `no documents found (${expected} on each line)`);
  return docs;
}
