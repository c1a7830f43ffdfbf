/**
 * sweep-report.html: the sweep report as one self-contained page (inline SVG charts made with the
 * run report's chart code, src/report/charts.ts; no script, nothing from the network). Every figure
 * on it is read from sweep-report.json, given here as parsed from that file: the charts' rows carry
 * the JSON path of each value, and the tables under the charts show them with data-key (the path)
 * and data-value (the value), so a test can compare the page with the JSON.
 */
import { renderSvg, spreadSpec, type SpreadChartOptions, type SpreadRow } from '../report/charts.js';
import { cell, esc, figure, htmlPage, table, td } from '../report/page.js';
import type { Figure, Spread, SweepGroup, SweepReport } from './report.js';

export const SWEEP_HTML = 'sweep-report.html';

/** sweep-report.json as read back: NaN figures are null there. */
type Json<T> = T extends number ? number | null : T extends object ? { [K in keyof T]: Json<T[K]> } : T;
export type SweepReportJson = Json<SweepReport>;
type GroupJson = Json<SweepGroup>;
type SpreadJson = Json<Spread>;

/** A chart row with the JSON paths of its figures. */
export interface SourcedRow {
  row: SpreadRow;
  /** JSON path (dot-separated, from the report's root) of x, and of y's spread (its .mean, .min, .max). */
  xKey: string;
  yKey: string;
  /** JSON path of x's spread, when x has one. */
  xSpreadKey?: string;
}

export const ACCURACY_SERIES: Array<[Figure, string]> = [
  ['teacher_accuracy', 'dense teacher'],
  ['fp32_accuracy', 'sparse fp32 (ONNX Runtime)'],
  ['int8_accuracy', 'sparse int8 (ONNX Runtime)'],
];
export const SIZE_SERIES: Array<[Figure, string]> = [
  ['int8_bytes', 'model.int8.onnx raw'],
  ['int8_brotli_bytes', 'model.int8.onnx brotli'],
];

const has = (s: SpreadJson): s is { mean: number; min: number; max: number; n: number } =>
  s.n !== null && s.n > 0 && s.mean !== null && s.min !== null && s.max !== null;

/** The grid values of a group other than the seed, e.g. `finalSparsity=0.9`. */
const groupLabel = (g: GroupJson) =>
  Object.entries(g.values)
    .map(([k, v]) => `${k.split('.').at(-1)}=${String(v)}`)
    .join(' ');

function seriesRows(r: SweepReportJson, series: Array<[Figure, string]>): SourcedRow[] {
  const out: SourcedRow[] = [];
  r.groups.forEach((g, i) => {
    for (const [fig, name] of series) {
      const s = g.figures[fig];
      if (!has(s) || g.finalSparsity === null) continue;
      out.push({
        row: { panel: g.task, series: name, x: g.finalSparsity, y: s.mean, yMin: s.min, yMax: s.max },
        xKey: `groups.${i}.finalSparsity`,
        yKey: `groups.${i}.figures.${fig}`,
      });
    }
  });
  return out;
}

/** The rows of the three charts, every value taken from the report. */
export function sweepChartRows(r: SweepReportJson): { accuracy: SourcedRow[]; size: SourcedRow[]; pareto: SourcedRow[] } {
  const pareto: SourcedRow[] = [];
  r.groups.forEach((g, i) => {
    const a = g.figures.int8_accuracy;
    const b = g.figures.int8_brotli_bytes;
    if (!has(a) || !has(b)) return;
    pareto.push({
      row: {
        panel: g.task,
        series: 'sparse int8 (ONNX Runtime)',
        x: b.mean,
        xMin: b.min,
        xMax: b.max,
        y: a.mean,
        yMin: a.min,
        yMax: a.max,
        marked: g.pareto,
        label: groupLabel(g),
      },
      xKey: `groups.${i}.figures.int8_brotli_bytes.mean`,
      xSpreadKey: `groups.${i}.figures.int8_brotli_bytes`,
      yKey: `groups.${i}.figures.int8_accuracy`,
    });
  });
  return { accuracy: seriesRows(r, ACCURACY_SERIES), size: seriesRows(r, SIZE_SERIES), pareto };
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const kib = (v: number) => `${(v / 1024).toFixed(1)} KiB`;
const plain = (v: number) => String(v);

/** The values behind a chart, as a table with data-key/data-value cells. */
function dataTable(rows: SourcedRow[], xName: string, fx: (v: number) => string, fy: (v: number) => string): string {
  const withX = rows.some((s) => s.xSpreadKey);
  const header = ['task', 'series', xName, ...(withX ? ['min', 'max'] : []), 'mean', 'min', 'max'];
  const body = rows.map(({ row, xKey, yKey, xSpreadKey }) => [
    td(row.panel),
    td(row.series),
    cell(xKey, row.x, fx(row.x)),
    ...(withX && xSpreadKey
      ? [cell(`${xSpreadKey}.min`, row.xMin!, fx(row.xMin!)), cell(`${xSpreadKey}.max`, row.xMax!, fx(row.xMax!))]
      : withX
        ? [td(''), td('')]
        : []),
    cell(`${yKey}.mean`, row.y, fy(row.y)),
    cell(`${yKey}.min`, row.yMin, fy(row.yMin)),
    cell(`${yKey}.max`, row.yMax, fy(row.yMax)),
  ]);
  return `<details><summary>the values of this chart (from sweep-report.json)</summary>${table(header, body)}</details>`;
}

async function chart(
  title: string,
  caption: string,
  rows: SourcedRow[],
  o: SpreadChartOptions,
  fx: (v: number) => string,
  fy: (v: number) => string,
): Promise<string> {
  if (!rows.length) return `<p class="note">${esc(`${title} No figures: the sweep's points have none.`)}</p>`;
  const svg = await renderSvg(
    spreadSpec(
      rows.map((s) => s.row),
      o,
    ),
  );
  return figure(title, svg, caption).replace('</figure>', `${dataTable(rows, o.xTitle, fx, fy)}</figure>`);
}

const spreadText = (s: SpreadJson, f: (v: number) => string) =>
  has(s) ? `${f(s.mean)}${s.n > 1 && s.min !== s.max ? ` [${f(s.min)}, ${f(s.max)}]` : ''}` : 'n/a';

/** The rows of sweep-report.md, with each mean as a data cell. */
function groupsTable(r: SweepReportJson): string {
  const keys = [...new Set(r.groups.flatMap((g) => Object.keys(g.values)))];
  const cols: Array<[Figure, string, (v: number) => string]> = [
    ['encoder_sparsity', 'encoder sparsity', pct],
    ['teacher_accuracy', 'teacher acc', pct],
    ['fp32_accuracy', 'sparse fp32 acc (ORT)', pct],
    ['int8_accuracy', 'sparse int8 acc (ORT)', pct],
    ['fp32_bytes', 'fp32', kib],
    ['int8_bytes', 'int8', kib],
    ['fp32_brotli_bytes', 'fp32 brotli', kib],
    ['int8_brotli_bytes', 'int8 brotli', kib],
  ];
  return table(
    ['task', ...keys.map((k) => k.split('.').at(-1)!), 'seeds', ...cols.map(([, h]) => h), 'Pareto'],
    r.groups.map((g, i) => [
      td(g.task),
      ...keys.map((k) => td(String(g.values[k] ?? ''))),
      td(String(g.points.length)),
      ...cols.map(([f, , fmt]) => cell(`groups.${i}.figures.${f}.mean`, g.figures[f].mean, spreadText(g.figures[f], fmt))),
      td(g.pareto ? 'yes' : ''),
    ]),
  );
}

/** sweep-report.html, from the report as read from sweep-report.json. */
export async function renderSweepHtml(r: SweepReportJson): Promise<string> {
  const rows = sweepChartRows(r);
  const tasks = [...new Set(r.groups.map((g) => g.task))];
  const seeds = Math.max(0, ...r.groups.map((g) => g.points.length));
  const spreadNote =
    seeds > 1 ? 'Points are means over the seeds of a grid point; bars run from the smallest to the largest seed.' : 'One seed per grid point (no spread).';
  const perTask = tasks.length > 1 ? ' One panel per task.' : '';
  const vegaLite = (await import('vega-lite')).version;
  const body = [
    `<h1>prune-once sweep: ${esc(r.name)}</h1>`,
    `<p class="meta">${esc(`From ${r.sweepFile}: ${new Set(r.points.map((p) => p.id)).size} points, ${r.groups.length} rows (task x grid point, seeds pooled), task${tasks.length > 1 ? 's' : ''} ${tasks.join(', ')}. ${spreadNote}`)}</p>`,
    `<nav><a href="#accuracy">accuracy</a><a href="#size">size</a><a href="#pareto">accuracy against size</a><a href="#table">table</a></nav>`,
    `<h2 id="accuracy">Accuracy against sparsity</h2>`,
    await chart(
      'Test accuracy against target sparsity.',
      `the dense fine-tuned teacher, the sparse student in fp32 and in int8, all three in ONNX Runtime, on each task's test split.${perTask} ${spreadNote}`,
      rows.accuracy,
      { xTitle: 'target sparsity', yTitle: 'test accuracy', xFormat: '.0%', yFormat: '.0%', line: 'series' },
      pct,
      pct,
    ),
    `<h2 id="size">Size against sparsity</h2>`,
    await chart(
      'model.int8.onnx bytes against target sparsity.',
      `raw, and after brotli (node:zlib, quality 11).${perTask} ${spreadNote}`,
      rows.size,
      { xTitle: 'target sparsity', yTitle: 'bytes', xFormat: '.0%', yFormat: '~s', line: 'series' },
      pct,
      kib,
    ),
    `<h2 id="pareto">Accuracy against size</h2>`,
    await chart(
      'Int8 accuracy against int8 brotli size, the Pareto frontier marked.',
      `sparse int8 test accuracy (ONNX Runtime) against model.int8.onnx bytes after brotli; diamonds joined by the dashed line: the Pareto frontier, the rows that no other row of the same task beats on both (higher accuracy, fewer bytes).${perTask} ${seeds > 1 ? 'Bars: min..max over seeds, both ways.' : ''}`,
      rows.pareto,
      { xTitle: 'model.int8.onnx brotli bytes', yTitle: 'int8 test accuracy', xFormat: '~s', yFormat: '.0%', line: 'marked', markedTitle: 'Pareto frontier' },
      plain,
      pct,
    ),
    `<h2 id="table">Table</h2>`,
    `<p class="note">${esc('Mean [min, max] over seeds; sizes in KiB (1,024 bytes). As sweep-report.md.')}</p>`,
    `<div class="chart">${groupsTable(r)}</div>`,
    `<ul class="note">${Object.entries(r.definitions)
      .map(([k, v]) => `<li>${esc(`${k}: ${v}`)}</li>`)
      .join('')}</ul>`,
    `<p class="note">${esc(`Run directories (stages linked from the stage cache): ${r.points.map((p) => p.runDir).join(', ')}. Charts by Vega-Lite ${vegaLite}, rendered to SVG when this file was written; the page runs no script.`)}</p>`,
  ];
  return htmlPage(`prune-once sweep: ${r.name}`, body);
}
