/** `prune-once inspect`: a run directory, a report.json, or any ONNX file, as tables or JSON. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatInspection, inspectOnnxFile } from './onnx/index.js';
import { renderMarkdown } from './report/markdown.js';
import { validateReport, type Report } from './report/schema.js';

export function readReport(path: string): Report {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not a JSON report (${(e as Error).message})`);
  }
  return validateReport(parsed, path);
}

export function inspectPath(path: string, json: boolean): string {
  if (!existsSync(path)) throw new Error(`${path}: no such file or directory`);
  if (statSync(path).isDirectory()) {
    const report = join(path, 'report.json');
    if (!existsSync(report)) throw new Error(`${path}: no report.json here; the run's report stage has not finished (run the pipeline), or inspect one of its .onnx files`);
    return inspectPath(report, json);
  }
  if (path.endsWith('.json')) {
    const r = readReport(path);
    return json ? JSON.stringify(r, null, 2) : renderMarkdown(r);
  }
  const ins = inspectOnnxFile(path);
  return json ? JSON.stringify(ins, null, 2) : formatInspection(ins);
}
