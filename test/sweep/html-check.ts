/**
 * Checks a sweep's sweep-report.html against its sweep-report.json: every figure cell on the page
 * (data-key = JSON path, data-value = value) holds the JSON's value there, every plotted row is
 * listed, the charts plot as many points as the rows, and the page is self-contained.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ACCURACY_SERIES, SIZE_SERIES, type SweepReportJson } from '../../src/sweep/html.js';

const at = (root: unknown, path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], root);

export function checkSweepHtml(outDir: string): { html: string; report: SweepReportJson; cells: Map<string, string> } {
  const html = readFileSync(join(outDir, 'sweep-report.html'), 'utf8');
  const report = JSON.parse(readFileSync(join(outDir, 'sweep-report.json'), 'utf8')) as SweepReportJson;
  const cells = new Map<string, string>();
  for (const m of html.matchAll(/data-key="([^"]+)" data-value="([^"]+)"/g)) {
    if (cells.has(m[1])) expect(cells.get(m[1]), m[1]).toBe(m[2]);
    cells.set(m[1], m[2]);
  }
  expect(cells.size).toBeGreaterThan(0);
  // Every figure on the page is the JSON's, exactly.
  for (const [key, value] of cells) {
    const want = at(report, key);
    expect(want === null || typeof want === 'number', `${key} is a figure of sweep-report.json`).toBe(true);
    expect(value === 'null' ? null : Number(value), key).toBe(want);
  }
  // Every figure the charts need is on the page (mean, min and max of each series at each group).
  let plotted = 0;
  report.groups.forEach((g, i) => {
    for (const [f] of [...ACCURACY_SERIES, ...SIZE_SERIES]) {
      if (!g.figures[f].n) continue;
      plotted++;
      for (const s of ['mean', 'min', 'max']) expect(cells.has(`groups.${i}.figures.${f}.${s}`), `groups.${i}.figures.${f}.${s}`).toBe(true);
      expect(cells.get(`groups.${i}.finalSparsity`)).toBe(String(g.finalSparsity));
    }
    if (g.figures.int8_accuracy.n && g.figures.int8_brotli_bytes.n) {
      plotted++;
      for (const s of ['mean', 'min', 'max']) expect(cells.has(`groups.${i}.figures.int8_brotli_bytes.${s}`)).toBe(true);
    }
  });
  expect((html.match(/aria-roledescription="point"/g) ?? []).length, 'one plotted point per chart row').toBe(plotted);
  expect((html.match(/<svg/g) ?? []).length).toBe(3);
  // The Pareto rows of the JSON are the page's.
  const paretoRows = [...html.matchAll(/<tr>((?:(?!<\/tr>).)*)<\/tr>/g)]
    .map((m) => m[1])
    .filter((r) => r.includes('data-key="groups.') && r.endsWith('<td>yes</td>'));
  expect(paretoRows.length).toBe(report.groups.filter((g) => g.pareto).length);
  // Self-contained: no script, nothing loaded from elsewhere.
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  return { html, report, cells };
}
