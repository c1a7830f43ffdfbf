/** The sweep report's files: sweep-report.json, its Markdown and its HTML page, each written atomically. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { renderSweepHtml, SWEEP_HTML, type SweepReportJson } from './html.js';
import { renderSweepMarkdown, type SweepReport } from './report.js';

export interface SweepReportFiles {
  json: string;
  markdown: string;
  html: string;
}

/** sweep-report.json, .md and .html in `outDir`; the page is rendered from the JSON file as written. */
export async function writeSweepReport(r: SweepReport, outDir: string): Promise<SweepReportFiles> {
  const json = join(outDir, 'sweep-report.json');
  const markdown = join(outDir, 'sweep-report.md');
  const html = join(outDir, SWEEP_HTML);
  writeJsonAtomic(json, r);
  writeFileAtomic(markdown, renderSweepMarkdown(r));
  writeFileAtomic(html, await renderSweepHtml(JSON.parse(readFileSync(json, 'utf8')) as SweepReportJson));
  return { json, markdown, html };
}
