/**
 * `prune-once inspect`: a run directory (its report, or, before the report stage has run, where each
 * stage of the stage table stands), a report.json, or any ONNX file, as tables or JSON.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { formatBaselineRatios, formatInspection, inspectOnnxFile, sizeRatios } from '../onnx/index.js';
import { formatRunStatus, runStatus } from './status.js';
import { renderMarkdown } from '../report/markdown.js';
import { readReport } from '../report/read.js';
import { rewriteReportFiles } from '../report/write.js';
import { REPORTED } from './stages/report.js';
import { RUN_FILES, runFile } from '../run/layout.js';

export interface Inspection {
  text: string;
  /** What an ONNX file's compact weights failed to decode; the CLI exits 1 when there are any. */
  errors: string[];
}

/** `inspectTarget`'s text alone (the library's entry point; errors are in the text). */
export function inspectPath(path: string, json: boolean, baseline?: string): string {
  return inspectTarget(path, json, baseline).text;
}

/** `baseline`: a dense model file (e.g. model.teacher.fp32.onnx) to give the file's size ratios against. */
export function inspectTarget(path: string, json: boolean, baseline?: string): Inspection {
  if (!existsSync(path)) throw new Error(`${path}: no such file or directory`);
  if (statSync(path).isDirectory()) {
    const report = runFile(path, 'reportJson');
    if (existsSync(report)) return inspectTarget(report, json);
    if (!existsSync(runFile(path, 'pipeline')))
      throw new Error(`${path}: not a run directory (no ${RUN_FILES.pipeline}); give a run directory, a report.json or an .onnx file`);
    const status = runStatus(path);
    if (json) return { text: JSON.stringify({ runDir: path, report: null, stages: status }, null, 2), errors: [] };
    return {
      text: `${formatRunStatus(path, status)}\nno ${RUN_FILES.reportJson} yet: the run's report stage has not finished (run the pipeline), or inspect one of its .onnx files`,
      errors: [],
    };
  }
  if (path.endsWith('.json')) {
    const r = readReport(path);
    return { text: json ? JSON.stringify(r, null, 2) : renderMarkdown(r), errors: [] };
  }
  const ins = inspectOnnxFile(path, true);
  let text = json ? '' : formatInspection(ins);
  let ratios: ReturnType<typeof sizeRatios> | undefined;
  if (baseline) {
    const base = inspectOnnxFile(baseline, true);
    ratios = sizeRatios({ sizes: base.sizes! }, { sizes: ins.sizes!, parts: ins.parts }, 0);
    text += `\n${formatBaselineRatios(baseline, ratios)}`;
  }
  return {
    text: json
      ? JSON.stringify(ratios ? { ...ins, baseline: { path: baseline, raw: ratios.raw, gzip: ratios.gzip, brotli: ratios.brotli } } : ins, null, 2)
      : text,
    errors: ins.errors,
  };
}

/** `inspect --html`: a run directory or its report.json -> report.html (and report.md) beside it. */
export async function writeHtmlReportFor(target: string): Promise<string> {
  if (!existsSync(target)) throw new Error(`${target}: no such file or directory; give a run directory (artifacts/<name>) or its report.json`);
  const runDir = statSync(target).isDirectory() ? target : basename(target) === RUN_FILES.reportJson ? dirname(target) : null;
  if (!runDir) throw new Error(`${target}: --html needs a run directory or its report.json, not another file`);
  return rewriteReportFiles(runDir, REPORTED);
}
