/** Reading a report.json back: it must be a prune-once report of a known version with its fields, or the error says so. */
import { readFileSync } from 'node:fs';
import { validateReport, type Report } from './schema.js';

export function readReport(path: string): Report {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not a JSON report (${(e as Error).message})`);
  }
  return validateReport(parsed, path);
}
