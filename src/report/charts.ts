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

export interface TestAccuracyPoint {
  model: string;
  accuracy: number;
  /** The 95% group-bootstrap interval (report.json accuracy.intervals). */
  lo: number;
  hi: number;
}

/** Test accuracy of each ONNX Runtime file as a point with its 95% interval as an error bar. */
export function testAccuracySpec(points: TestAccuracyPoint[]): TopLevelSpec {
  const y = { field: 'model', type: 'nominal', title: null, sort: null };
  return {
    width: 420,
    height: { step: 28 },
    data: { values: points },
    layer: [
      {
        mark: { type: 'rule', strokeWidth: 2, color: '#2f6fdf' },
        encoding: { y, x: { field: 'lo', type: 'quantitative', title: 'test accuracy (95% interval)', axis: { format: '.0%' } }, x2: { field: 'hi' } },
      },
      { mark: { type: 'point', filled: true, size: 70, color: '#e8743b' }, encoding: { y, x: { field: 'accuracy', type: 'quantitative' } } },
    ],
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

/** One plotted mean with its spread (e.g. over seeds): a point, a bar from min to max. */
export interface SpreadRow {
  /** The panel (facet) the row is drawn in, e.g. a task. */
  panel: string;
  /** The series (colour) within the panel. */
  series: string;
  x: number;
  /** Horizontal bar (optional): the spread of x. */
  xMin?: number;
  xMax?: number;
  y: number;
  yMin: number;
  yMax: number;
  /** Drawn as a larger diamond, and joined by the `line: 'marked'` line (e.g. the Pareto frontier). */
  marked?: boolean;
  /** Text beside the point (e.g. the sparsity of a point in a size-accuracy plane). */
  label?: string;
}

export interface SpreadChartOptions {
  xTitle: string;
  yTitle: string;
  /** d3 formats of the axes' labels, e.g. '.0%' or '~s'. */
  xFormat?: string;
  yFormat?: string;
  /** Join each series' means in x order ('series'), only the marked rows of a panel ('marked'), or none. */
  line: 'series' | 'marked' | 'none';
  /** Legend title of the marked rows (shown when some rows are marked). */
  markedTitle?: string;
  /** Include 0 in the axes' domain (default false: the data's range). */
  zero?: boolean;
}

/**
 * Means with min..max bars (e.g. over seeds) against a quantity, one panel per `panel`, one colour
 * per series; optionally marked rows (e.g. a Pareto frontier) joined by a line. The sweep report's
 * charts; any report with a spread over repeats can use it.
 */
export function spreadSpec(rows: SpreadRow[], o: SpreadChartOptions): TopLevelSpec {
  const axis = (field: 'x' | 'y', title: string, format?: string) => ({
    field,
    type: 'quantitative',
    title,
    scale: { zero: o.zero ?? false, nice: true },
    ...(format ? { axis: { format } } : {}),
  });
  const x = axis('x', o.xTitle, o.xFormat);
  const y = axis('y', o.yTitle, o.yFormat);
  const color = { field: 'series', type: 'nominal', title: null };
  const f = (fmt?: string) => (fmt ? { format: fmt } : {});
  const tooltip = [
    { field: 'panel', title: 'panel' },
    { field: 'series', title: 'series' },
    { field: 'x', title: o.xTitle, ...f(o.xFormat) },
    { field: 'y', title: `${o.yTitle} (mean)`, ...f(o.yFormat) },
    { field: 'yMin', title: 'min', ...f(o.yFormat) },
    { field: 'yMax', title: 'max', ...f(o.yFormat) },
  ];
  const hasMarked = rows.some((r) => r.marked);
  const layers: unknown[] = [
    { mark: { type: 'rule', strokeWidth: 1.4 }, encoding: { x, y: { field: 'yMin', type: 'quantitative' }, y2: { field: 'yMax' }, color } },
  ];
  if (rows.some((r) => r.xMin !== undefined))
    layers.push({
      transform: [{ filter: 'isValid(datum.xMin)' }],
      mark: { type: 'rule', strokeWidth: 1.4 },
      encoding: { y, x: { field: 'xMin', type: 'quantitative' }, x2: { field: 'xMax' }, color },
    });
  if (o.line === 'series') layers.push({ mark: { type: 'line', strokeWidth: 1.6 }, encoding: { x, y, color, order: { field: 'x' } } });
  if (o.line === 'marked' && hasMarked)
    layers.push({
      transform: [{ filter: 'datum.marked' }],
      mark: { type: 'line', strokeWidth: 1.4, strokeDash: [5, 3], color: '#1d2430' },
      encoding: { x, y, detail: { field: 'series' }, order: { field: 'x' } },
    });
  layers.push({
    mark: { type: 'point', filled: true, opacity: 1 },
    encoding: {
      x,
      y,
      color,
      shape: hasMarked
        ? { field: 'markedLabel', type: 'nominal', title: null, scale: { domain: [o.markedTitle ?? 'marked', 'other'], range: ['diamond', 'circle'] } }
        : { value: 'circle' },
      size: hasMarked ? { condition: { test: 'datum.marked', value: 110 }, value: 45 } : { value: 55 },
      tooltip,
    },
  });
  if (rows.some((r) => r.label))
    layers.push({
      transform: [{ filter: 'isValid(datum.label)' }],
      mark: { type: 'text', align: 'left', dx: 7, dy: -7, fontSize: 10.5, color: '#3b4452' },
      encoding: { x, y, text: { field: 'label' } },
    });
  const values = rows.map((r) => ({ ...r, markedLabel: r.marked ? (o.markedTitle ?? 'marked') : 'other' }));
  return {
    data: { values },
    facet: { field: 'panel', type: 'nominal', title: null },
    columns: 3,
    spec: { width: 300, height: 200, layer: layers },
    resolve: { scale: { x: 'independent', y: 'independent' } },
  } as TopLevelSpec;
}
