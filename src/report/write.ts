/** The one writer of report.md and report.html: both rendered from one ReportView. */
import { existsSync } from 'node:fs';
import { RUN_MARKER, runFile } from '../run/layout.js';
import { writeFileAtomic } from '../util/fs.js';
import { withTrackedWrites } from '../util/owned-dir.js';
import { renderHtml } from './html.js';
import { browserMarkdown, renderMarkdown } from './markdown.js';
import { readReport } from './read.js';
import { gatherReportView, type ReportView } from './view.js';

/** report.md (with the in-browser section when measured) and report.html of one view. Returns report.md's text. */
export async function writeReportFiles(runDir: string, view: ReportView): Promise<string> {
  const md = view.browser ? `${renderMarkdown(view.report)}\n${browserMarkdown(view.browser)}` : renderMarkdown(view.report);
  writeFileAtomic(runFile(runDir, 'reportMd'), md);
  writeFileAtomic(runFile(runDir, 'reportHtml'), await renderHtml(view));
  return md;
}

/** report.md and report.html again from a finished run's report.json (after `bundle --measure`, for `inspect --html`). */
export async function rewriteReportFiles(runDir: string, stages: readonly string[]): Promise<string> {
  const json = runFile(runDir, 'reportJson');
  if (!existsSync(json)) throw new Error(`${runDir}: no report.json here; the run's report stage has not finished (run the pipeline to the end first)`);
  const view = gatherReportView(readReport(json), runDir, stages);
  // Replaces only the run's own report files (a folder without the run marker: only new files).
  await withTrackedWrites(runDir, RUN_MARKER, () => writeReportFiles(runDir, view));
  return runFile(runDir, 'reportHtml');
}
