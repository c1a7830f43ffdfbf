/**
 * The report's charts: Vega-Lite specifications rendered to SVG strings in Node (vega's headless
 * `view.toSVG()`), so report.html carries them inline and needs no script. Each function takes plain
 * rows, so other reports (a sweep's) can reuse them.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif';
const CONFIG = {
  font: FONT,
  view: { stroke: '#d9dee7' },
  axis: { labelColor: '#3b4452', titleColor: '#1d2430', gridColor: '#edf0f5', labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom' as const, labelLimit: 0 },
  header: { labelFontSize: 12, labelFontWeight: 600, titleFontSize: 12 },
  range: { category: ['#2f6fdf', '#e8743b', '#19a979', '#945ecf', '#ed4a7b', '#13a4b4', '#6c7a89'] },
};

let renderCount = 0;

/**
 * Vega-Lite spec -> standalone SVG. Ids inside the SVG (clip paths, gradients) are prefixed so that
 * several charts inlined in one page never resolve `url(#…)` to another chart's element.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vg = compile({ config: CONFIG, ...spec } as TopLevelSpec).spec;
  const view = new View(parse(vg), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const prefix = `c${++renderCount}-`;
    return svg.replace(/\bid="([^"]+)"/g, `id="${prefix}$1"`).replace(/url\(#([^)]+)\)/g, `url(#${prefix}$1)`);
  } finally {
    view.finalize();
  }
}

export interface CurvePoint {
  stage: string;
  step: number;
  series: string;
  value: number;
}

/** Training loss (and its parts) against step, one panel per stage. */
export function lossSpec(points: CurvePoint[]): TopLevelSpec {
  return {
    data: { values: points },
    facet: { field: 'stage', type: 'nominal', title: null, sort: { field: 'order' } },
    columns: 3,
    spec: {
      width: 240,
      height: 150,
      mark: { type: 'line', strokeWidth: 1.6 },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step', axis: { format: 'd', tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: 'loss', scale: { zero: false } },
        color: {
          field: 'series',
          type: 'nominal',
          title: 'loss',
          scale: { domain: ['loss', 'task_loss', 'kd_loss'], range: ['#2f6fdf', '#19a979', '#e8743b'] },
        },
      },
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
  } as TopLevelSpec;
}

/** Evaluation metrics (accuracies) against step, one panel per stage. */
export function accuracySpec(points: CurvePoint[]): TopLevelSpec {
  return {
    data: { values: points },
    facet: { field: 'stage', type: 'nominal', title: null, sort: { field: 'order' } },
    columns: 3,
    spec: {
      width: 240,
      height: 150,
      layer: [{ mark: { type: 'line', strokeWidth: 1.6 } }, { mark: { type: 'point', filled: true, size: 45 } }],
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step', axis: { format: 'd', tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: 'accuracy', axis: { format: '.0%' }, scale: { zero: true } },
        color: { field: 'series', type: 'nominal', title: 'metric' },
      },
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
  } as TopLevelSpec;
}

export interface SparsityPoint {
  step: number;
  series: 'schedule target' | 'measured';
  sparsity: number;
}

/** The pruning schedule's target sparsity as a line, the measured sparsity as points. */
export function sparsitySpec(points: SparsityPoint[]): TopLevelSpec {
  const enc = {
    x: { field: 'step', type: 'quantitative', title: 'prune-distill step', axis: { format: 'd', tickMinStep: 1 } },
    y: { field: 'sparsity', type: 'quantitative', title: 'encoder Linear sparsity', axis: { format: '.0%' }, scale: { domain: [0, 1] } },
    color: { field: 'series', type: 'nominal', title: null, scale: { domain: ['schedule target', 'measured'], range: ['#2f6fdf', '#e8743b'] } },
  };
  return {
    width: 520,
    height: 220,
    data: { values: points },
    layer: [
      { transform: [{ filter: "datum.series === 'schedule target'" }], mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.8 }, encoding: enc },
      { transform: [{ filter: "datum.series === 'measured'" }], mark: { type: 'point', filled: true, size: 70 }, encoding: enc },
    ],
  } as TopLevelSpec;
}

export interface LayerSparsityRow {
  tensor: string;
  layer: string;
  kind: string;
  sparsity: number;
}

/** Sparsity of each encoder Linear weight as stored in the int8 file. */
export function layerSparsitySpec(rows: LayerSparsityRow[]): TopLevelSpec {
  return {
    width: 420,
    height: { step: 16 },
    data: { values: rows },
    mark: { type: 'bar', cornerRadiusEnd: 2 },
    encoding: {
      y: { field: 'tensor', type: 'nominal', title: null, sort: null, axis: { labelLimit: 260 } },
      x: { field: 'sparsity', type: 'quantitative', title: 'sparsity (zeros / weights)', axis: { format: '.0%' }, scale: { domain: [0, 1] } },
      color: { field: 'kind', type: 'nominal', title: 'weight' },
      tooltip: [{ field: 'tensor' }, { field: 'sparsity', format: '.2%' }],
    },
  } as TopLevelSpec;
}

export interface SizeRow {
  file: string;
  encoding: string;
  part: string;
  bytes: number;
}

/** Bytes per part of each file, raw and compressed, as stacked bars. */
export function sizeSpec(rows: SizeRow[], parts: readonly string[]): TopLevelSpec {
  return {
    width: 520,
    height: { step: 22 },
    data: { values: rows.map((r) => ({ ...r, label: `${r.file} · ${r.encoding}`, megabytes: r.bytes / 1e6 })) },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'label', type: 'nominal', title: null, sort: null },
      x: { field: 'megabytes', type: 'quantitative', title: 'MB (10^6 bytes)', stack: 'zero' },
      color: { field: 'part', type: 'nominal', title: 'part', scale: { domain: [...parts] } },
      order: { field: 'partOrder', type: 'quantitative' },
      tooltip: [{ field: 'file' }, { field: 'encoding' }, { field: 'part' }, { field: 'bytes', format: ',' }],
    },
    transform: [{ calculate: `indexof(${JSON.stringify(parts)}, datum.part)`, as: 'partOrder' }],
  } as TopLevelSpec;
}

export interface LatencyRow {
  runtime: string;
  case: string;
  medianMs: number;
}

/** Median latency per runtime and batch shape. */
export function latencySpec(rows: LatencyRow[]): TopLevelSpec {
  return {
    width: 420,
    height: { step: 20 },
    data: { values: rows },
    mark: { type: 'bar', cornerRadiusEnd: 2 },
    encoding: {
      y: { field: 'case', type: 'nominal', title: null, sort: null, axis: { labelLimit: 260 } },
      yOffset: { field: 'runtime', type: 'nominal' },
      x: { field: 'medianMs', type: 'quantitative', title: 'median latency (ms)' },
      color: { field: 'runtime', type: 'nominal', title: null },
      tooltip: [{ field: 'runtime' }, { field: 'case' }, { field: 'medianMs', format: '.2f' }],
    },
  } as TopLevelSpec;
}
