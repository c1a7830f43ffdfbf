/**
 * Texts to classify from a file: TSV (a header row naming a "sentence" or "text" column, optionally
 * "sentence2"/"text_pair" and "label") or JSONL (objects with "text" or "sentence", optionally
 * "text_pair"/"sentence2" and "label"), the formats of user tasks (src/data/user-tasks.ts), so a
 * task's test file can be fed as it is. Empty texts are allowed (the model still answers); a bad line
 * fails with the file and line.
 */
import { extname } from 'node:path';
import { DataFileError, describeJson, jsonlObjects, jsonlString, tsvTable } from '../data/files.js';

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
  const { header, rows } = tsvTable(file, '"sentence" (or "text")');
  const col = (names: string[]) => header.findIndex((h) => names.includes(h));
  const text = col(['sentence', 'sentence1', 'text']);
  if (text < 0) throw new DataFileError(file, 1, `missing column "sentence" (or "text") in the header; got ${header.map((h) => JSON.stringify(h)).join(', ')}`);
  const pair = col(['sentence2', 'text_pair']);
  const label = col(['label']);
  return rows.map(({ cells, line }) => ({
    text: cells[text],
    ...(pair >= 0 ? { textPair: cells[pair] } : {}),
    ...(label >= 0 ? { label: cells[label].trim() } : {}),
    where: `${file}:${line}`,
  }));
}

/** Empty texts are allowed here (the model still answers), unlike in a task's files. */
function parseJsonl(file: string): PredictInput[] {
  const expected = 'expected a JSON object with a string "text" (or "sentence") field';
  return jsonlObjects(file, expected).map((row) => {
    const str = (names: string[], required: boolean) => jsonlString(file, row, names, { required, nonEmpty: false, expected });
    const text = str(['text', 'sentence'], true)!;
    const textPair = str(['text_pair', 'sentence2'], false);
    const label = row.obj.label;
    if (label !== undefined && typeof label !== 'string' && !Number.isInteger(label))
      throw new DataFileError(file, row.line, `expected "label" to be a string or an integer, got ${describeJson(label)}`);
    return { text, ...(textPair !== undefined ? { textPair } : {}), ...(label !== undefined ? { label: String(label) } : {}), where: `${file}:${row.line}` };
  });
}
