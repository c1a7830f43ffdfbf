/**
 * `prune-once inspect`: a run directory (its report, or, before the report stage has run, where each
 * stage of the stage table stands), a report.json, or any ONNX file, as tables or JSON.
 */
import { existsSync, statSync } from 'node:fs';
import { formatBaselineRatios, formatInspection, inspectOnnxFile, sizeRatios } from './onnx/index.js';
import { formatRunStatus, runStatus } from './pipeline/status.js';
import { renderMarkdown } from './report/markdown.js';
import { readReport } from './report/read.js';
import { RUN_FILES, runFile } from './run/layout.js';

/** `baseline`: a dense model file (e.g. model.teacher.fp32.onnx) to give the file's size ratios against. */
export function inspectPath(path: string, json: boolean, baseline?: string): string {
  if (!existsSync(path)) throw new Error(`${path}: no such file or directory`);
  if (statSync(path).isDirectory()) {
    const report = runFile(path, 'reportJson');
    if (existsSync(report)) return inspectPath(report, json);
    if (!existsSync(runFile(path, 'pipeline')))
      throw new Error(`${path}: not a run directory (no ${RUN_FILES.pipeline}); give a run directory, a report.json or an .onnx file`);
    const status = runStatus(path);
    if (json) return JSON.stringify({ runDir: path, report: null, stages: status }, null, 2);
    return `${formatRunStatus(path, status)}\nno ${RUN_FILES.reportJson} yet: the run's report stage has not finished (run the pipeline), or inspect one of its .onnx files`;
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
  return json
    ? JSON.stringify(ratios ? { ...ins, baseline: { path: baseline, raw: ratios.raw, gzip: ratios.gzip, brotli: ratios.brotli } } : ins, null, 2)
    : text;
}
