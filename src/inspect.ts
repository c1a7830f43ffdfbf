/** `prune-once inspect`: a run directory, a report.json, or any ONNX file, as tables or JSON. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatInspection, inspectOnnxFile, sizeRatios } from './onnx/index.js';
import { formatBaselineRatios } from './onnx/inspect/format.js';
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

/** `baseline`: a dense model file (e.g. model.teacher.fp32.onnx) to give the file's size ratios against. */
export function inspectPath(path: string, json: boolean, baseline?: string): string {
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
  const ins = inspectOnnxFile(path, true);
  let text = json ? '' : formatInspection(ins);
  let ratios: ReturnType<typeof sizeRatios> | undefined;
  if (baseline) {
    const base = inspectOnnxFile(baseline, true);
    ratios = sizeRatios({ sizes: base.sizes! }, { sizes: ins.sizes!, parts: ins.parts }, 0);
    text += `\n${formatBaselineRatios(baseline, ratios)}`;
  }
  if (ins.errors.length) process.exitCode = 1;
  return json ? JSON.stringify(ratios ? { ...ins, baseline: { path: baseline, raw: ratios.raw, gzip: ratios.gzip, brotli: ratios.brotli } } : ins, null, 2) : text;
}
