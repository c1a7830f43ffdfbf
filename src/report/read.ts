/** Reading a report.json back: it must be a prune-once report (schema field), or the error says so. */
import { readFileSync } from 'node:fs';
import { REPORT_SCHEMA, type Report } from './schema.js';

export function readReport(path: string): Report {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not a JSON report (${(e as Error).message})`);
  }
  if ((parsed as { schema?: string })?.schema !== REPORT_SCHEMA) throw new Error(`${path}: not a prune-once report (schema field is not '${REPORT_SCHEMA}')`);
  return parsed as Report;
}
