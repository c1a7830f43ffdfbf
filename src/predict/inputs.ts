/**
 * Texts to classify from a file: TSV (a header row naming a "sentence" or "text" column, optionally
 * "sentence2"/"text_pair" and "label") or JSONL (objects with "text" or "sentence", optionally
 * "text_pair"/"sentence2" and "label"), the formats of user tasks (src/data/user-tasks.ts), so a
 * task's test file can be fed as it is. Empty texts are allowed (the model still answers); a bad line
 * fails with the file and line.
 */
import { extname } from 'node:path';
import { DataFileError, preview, readUtf8, splitLines } from '../data/files.js';
import { describeJson } from '../data/text-files.js';

export interface PredictInput {
  text: string;
  textPair?: string;
  /** The expected label, when the file gives one (predict then reports accuracy). */
  label?: string;
  /** `file:line` the input came from. */
  where?: string;
}

export function readPredictInputs(file: string): PredictInput[] {
  const ext = extname(file).toLowerCase();
  if (ext === '.tsv') return parseTsv(file);
  if (ext === '.jsonl') return parseJsonl(file);
  throw new DataFileError(file, undefined, `unknown input format "${ext || '(no extension)'}"; expected a .tsv file (header row) or a .jsonl file`);
}

function parseTsv(file: string): PredictInput[] {
  const lines = splitLines(readUtf8(file));
  if (lines.length === 0) throw new DataFileError(file, 1, 'empty file; expected a header row of tab-separated column names including "sentence" (or "text")');
  const header = lines[0].split('\t').map((h) => h.trim());
  const col = (names: string[]) => header.findIndex((h) => names.includes(h));
  const text = col(['sentence', 'sentence1', 'text']);
  if (text < 0) throw new DataFileError(file, 1, `missing column "sentence" (or "text") in the header; got ${header.map((h) => JSON.stringify(h)).join(', ')}`);
  const pair = col(['sentence2', 'text_pair']);
  const label = col(['label']);
  const out: PredictInput[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === '') continue;
    const cells = lines[i].split('\t');
    if (cells.length !== header.length)
      throw new DataFileError(file, i + 1, `expected ${header.length} tab-separated columns as in the header, got ${cells.length}: ${preview(lines[i])}`);
    out.push({
      text: cells[text],
      ...(pair >= 0 ? { textPair: cells[pair] } : {}),
      ...(label >= 0 ? { label: cells[label].trim() } : {}),
      where: `${file}:${i + 1}`,
    });
  }
  return out;
}

function parseJsonl(file: string): PredictInput[] {
  const expected = 'expected a JSON object with a string "text" (or "sentence") field';
  const out: PredictInput[] = [];
  splitLines(readUtf8(file)).forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new DataFileError(file, line, `${expected}, got invalid JSON (${(e as Error).message}): ${preview(raw)}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DataFileError(file, line, `${expected}, got ${describeJson(value)}`);
    const obj = value as Record<string, unknown>;
    const str = (names: string[], required: boolean): string | undefined => {
      const name = names.find((n) => n in obj);
      if (name === undefined) {
        if (required) throw new DataFileError(file, line, `${expected}, got an object without it (fields: ${Object.keys(obj).join(', ') || 'none'})`);
        return undefined;
      }
      const v = obj[name];
      if (typeof v !== 'string') throw new DataFileError(file, line, `expected "${name}" to be a string, got ${describeJson(v)}`);
      return v;
    };
    const text = str(['text', 'sentence'], true)!;
    const textPair = str(['text_pair', 'sentence2'], false);
    const label = obj.label;
    if (label !== undefined && typeof label !== 'string' && !Number.isInteger(label))
      throw new DataFileError(file, line, `expected "label" to be a string or an integer, got ${describeJson(label)}`);
    out.push({ text, ...(textPair !== undefined ? { textPair } : {}), ...(label !== undefined ? { label: String(label) } : {}), where: `${file}:${line}` });
  });
  return out;
}
