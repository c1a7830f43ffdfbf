/**
 * What the report's renderers show, gathered from a run once: the Report (report.json), the
 * training stages' results (curves) in the stage table's order, the size breakdown and the run's
 * in-browser figures. renderMarkdown and renderHtml take it and read nothing themselves; write.ts
 * writes report.md and report.html from it.
 */
import { type BrowserMetrics, readBrowserMetrics } from '../run/browser-metrics.js';
import { onnxPath, stageDir } from '../run/layout.js';
import { readResult, type StageResult } from '../run/result.js';
import type { Report } from './schema.js';
import { sizeBreakdown, type SizeBreakdown } from './size-parts.js';

export interface ReportView {
  report: Report;
  /** The stages with training curves, in the order of the stage table. */
  training: StageResult[];
  sizes: SizeBreakdown;
  /** In-browser figures measured on the run's current int8 model, or null with why (if there is a why). */
  browser: BrowserMetrics | null;
  browserNote?: string;
}

/** `stages`: the stages the report covers, in the stage table's order (the report stage's inputs). */
export function gatherReportView(report: Report, runDir: string, stages: readonly string[]): ReportView {
  const training: StageResult[] = [];
  for (const s of stages) {
    const r = readResult(stageDir(runDir, s));
    if (r && Array.isArray(r.details.curve)) training.push(r);
  }
  const { metrics, note } = readBrowserMetrics(runDir, onnxPath(runDir, 'int8'));
  return { report, training, sizes: sizeBreakdown(report, runDir), browser: metrics, ...(note ? { browserNote: note } : {}) };
}
