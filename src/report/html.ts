/**
 * report.html: the run's report as one self-contained page (inline SVG charts made with Vega-Lite,
 * inline CSS, no script), rendered from a ReportView (view.ts: report.json's figures, the stages'
 * curves, size by part, the in-browser figures); it reads nothing itself.
 * Table cells carry `data-key`/`data-value` with the raw figure, so a test can compare them with
 * report.json.
 */
import { makeSchedule, type ScheduleConfig } from '../prune/schedules.js';
import type { BrowserMetrics } from '../run/browser-metrics.js';
import { ONNX_FILES, RUN_FILES } from '../run/layout.js';
import type { StageResult } from '../run/result.js';
import {
  accuracySpec,
  testAccuracySpec,
  type TestAccuracyPoint,
  type CurvePoint,
  latencySpec,
  layerSparsitySpec,
  type LatencyRow,
  lossSpec,
  renderSvg,
  sizeSpec,
  type SparsityPoint,
  sparsitySpec,
} from './charts.js';
import { pctWithInterval, ptsWithInterval } from './markdown.js';
import { cell, esc, figure, htmlPage, table, td } from './page.js';
import type { Report } from './schema.js';
import type { ReportView } from './view.js';

export const HTML_FILE = RUN_FILES.reportHtml;
const INT8_FILE = ONNX_FILES.int8;

const pct = (v: number | null | undefined, d = 2) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : `${(v * 100).toFixed(d)}%`);
const int = (v: number) => (Number.isFinite(v) ? v.toLocaleString('en-US') : 'n/a');
const mb = (v: number) => `${(v / 1e6).toFixed(2)} MB`;
const ms = (v: number) => `${v.toFixed(2)} ms`;

type Row = Record<string, unknown>;

function curvePoints(stages: StageResult[]): { loss: CurvePoint[]; accuracy: CurvePoint[] } {
  const loss: CurvePoint[] = [];
  const accuracy: CurvePoint[] = [];
  stages.forEach((s, order) => {
    for (const p of s.details.curve as Row[]) {
      for (const k of ['loss', 'task_loss', 'kd_loss']) {
        const v = p[k];
        if (typeof v === 'number' && Number.isFinite(v)) loss.push({ stage: s.stage, step: p.step as number, series: k, value: v, order } as CurvePoint);
      }
    }
    for (const e of (s.details.evaluations as Array<{ step: number; metrics: Record<string, number> }> | undefined) ?? []) {
      for (const [k, v] of Object.entries(e.metrics)) {
        if (k.endsWith('accuracy') && Number.isFinite(v)) accuracy.push({ stage: s.stage, step: e.step, series: k, value: v, order } as CurvePoint);
      }
    }
  });
  return { loss, accuracy };
}

/** The schedule's target at every step of the pruning stage, and the sparsity measured at its evaluations. */
function sparsityPoints(stages: StageResult[]): { points: SparsityPoint[]; stage: string } | null {
  const s = stages.find((r) => r.details.schedule && typeof r.details.schedule === 'object');
  if (!s) return null;
  const schedule = makeSchedule(s.details.schedule as ScheduleConfig);
  const curve = s.details.curve as Row[];
  const last = Math.max(0, ...curve.map((p) => p.step as number));
  const points: SparsityPoint[] = [];
  for (let step = 0; step <= last; step++) points.push({ step, series: 'schedule target', sparsity: schedule(step).sparsity });
  const measured = new Map<number, number>();
  for (const p of curve) if (typeof p.sparsity === 'number') measured.set(p.step as number, p.sparsity);
  for (const e of (s.details.evaluations as Array<{ step: number; metrics: Record<string, number> }> | undefined) ?? []) {
    if (typeof e.metrics.sparsity === 'number') measured.set(e.step, e.metrics.sparsity);
  }
  if (typeof s.metrics.sparsity === 'number' && !measured.has(last)) measured.set(last, s.metrics.sparsity);
  for (const [step, sparsity] of [...measured].sort((a, b) => a[0] - b[0])) points.push({ step, series: 'measured', sparsity });
  return { points, stage: s.stage };
}

/** The ONNX Runtime test accuracies that have an interval, for the error-bar chart. */
function testAccuracyPoints(r: Report): TestAccuracyPoint[] {
  const a = r.accuracy;
  const labels: Array<[string, number | null | undefined]> = [
    ['dense teacher (fp32)', a.teacherOrt],
    ['sparse student (fp32)', a.fp32Ort],
    ['sparse int8 student', a.int8Ort],
    ['int8, other embedding tables', r.files.int8AltEmbeddings?.ortTestAccuracy],
  ];
  const keys = ['teacherOrt', 'fp32Ort', 'int8Ort', 'int8AltOrt'];
  return labels.flatMap(([model, accuracy], i) => {
    const iv = a.intervals?.[keys[i]];
    return iv && typeof accuracy === 'number' ? [{ model, accuracy, lo: iv[0], hi: iv[1] }] : [];
  });
}

function accuracyTable(r: Report, browser: BrowserMetrics | null): string {
  const a = r.accuracy;
  const row = (label: string, key: keyof Report['accuracy'] & string, deltaKey?: string) => [
    td(label),
    cell(`accuracy.${key}`, a[key] as number | null, pctWithInterval(a[key] as number | null, a.intervals?.[key])),
    deltaKey
      ? cell(
          `accuracy.deltaPoints.${deltaKey}`,
          a.deltaPoints[deltaKey],
          a.deltaPoints[deltaKey] === null ? 'n/a' : `${a.deltaPoints[deltaKey]! >= 0 ? '+' : ''}${a.deltaPoints[deltaKey]!.toFixed(2)}`,
        )
      : td(''),
  ];
  const rows = [
    row('dense teacher (fp32)', 'teacherOrt'),
    row('sparse student (fp32)', 'fp32Ort', 'fp32Ort'),
    row('sparse int8 student (Node)', 'int8Ort', 'int8Ort'),
  ];
  if (browser) {
    const d = a.teacherOrt === null ? null : (browser.accuracy.browser - a.teacherOrt) * 100;
    rows.push([
      td(`sparse int8 student (onnxruntime-web, ${browser.browser.name})`),
      cell('browser.accuracy.browser', browser.accuracy.browser, pct(browser.accuracy.browser)),
      cell('browser.deltaPoints', d, d === null ? 'n/a' : `${d >= 0 ? '+' : ''}${d.toFixed(2)}`),
    ]);
  }
  const intervals = a.intervals
    ? ` In brackets: 95% bootstrap intervals over the test split, resampled by group (ONNX Runtime figures); int8 - dense teacher, both in ONNX Runtime, paired: ${ptsWithInterval(a.int8MinusTeacherOrt)} points.`
    : '';
  return (
    `<p class="note">${esc(`Task: ${a.task.replace(/\.+$/, '')}. Accuracy on the ${a.split} split, ${int(a.examples)} examples.${intervals}`)}</p>` +
    table(['model', 'accuracy', 'vs dense teacher (points)'], rows)
  );
}

function browserSection(m: BrowserMetrics): string {
  const rows = [
    [
      td('download, first visit (brotli)'),
      cell(
        'browser.download.brotliBytes',
        m.download.brotliBytes,
        `${mb(m.download.brotliBytes)} (model ${mb(m.download.modelBrotliBytes)}; gzip ${mb(m.download.gzipBytes)}, raw ${mb(m.download.rawBytes)})`,
      ),
      td(''),
    ],
    [
      td('time to first prediction'),
      cell('browser.timeToFirstPredictionMs', m.timeToFirstPredictionMs, ms(m.timeToFirstPredictionMs)),
      td(`session creation ${ms(m.sessionCreateMs)}`),
    ],
    [
      td('latency per example, median (batch 1)'),
      cell('browser.latency.browserMedianMs', m.latency.browserMedianMs, ms(m.latency.browserMedianMs)),
      cell('browser.latency.ortNodeMedianMs', m.latency.ortNodeMedianMs, ms(m.latency.ortNodeMedianMs)),
    ],
    [
      td('latency per example, p90'),
      cell('browser.latency.browserP90Ms', m.latency.browserP90Ms, ms(m.latency.browserP90Ms)),
      cell('browser.latency.ortNodeP90Ms', m.latency.ortNodeP90Ms, ms(m.latency.ortNodeP90Ms)),
    ],
    [
      td(`test accuracy (${m.accuracy.examples} examples)`),
      cell('browser.accuracy.browser', m.accuracy.browser, pct(m.accuracy.browser)),
      cell('browser.accuracy.ortNode', m.accuracy.ortNode, pct(m.accuracy.ortNode)),
    ],
    [
      td('same prediction as onnxruntime-node'),
      cell('browser.accuracy.agreement', m.accuracy.agreement, pct(m.accuracy.agreement)),
      td(`max logit difference ${m.accuracy.maxLogitDiff.toExponential(2)}`),
    ],
  ];
  return (
    `<h2 id="browser">In the browser</h2><p>${esc(`${m.browser.name} ${m.browser.version}, onnxruntime-web ${m.runtime.version} (${m.runtime.backend}, ${m.runtime.threads} thread), measured ${m.measuredAt} by \`prune-once bundle --measure\`; onnxruntime-node ${m.latency.ortNodeVersion} on the same token ids in the same machine for comparison.`)}</p>` +
    table(['', 'browser (onnxruntime-web)', 'Node (onnxruntime-node)'], rows)
  );
}

/** The sections of the page that hold charts. */
type ChartSection = 'accuracy' | 'training' | 'sparsity' | 'size' | 'latency';

/** report.html of a run, as a string. */
export async function renderHtml(view: ReportView): Promise<string> {
  const { report: r, training: stages, sizes, browser, browserNote } = view;
  const { loss, accuracy } = curvePoints(stages);
  const sparsity = sparsityPoints(stages);
  const vegaVersions = `Vega-Lite ${(await import('vega-lite')).version}`;

  const enc = r.tensors.filter((t) => t.role === 'encoder-linear');
  const layerRows = enc.map((t) => {
    const m = /^encoder\/layer_(\d+)\/(.*)\/kernel$/.exec(t.name);
    return {
      tensor: m ? `layer ${m[1]} ${m[2]}` : t.name,
      layer: m?.[1] ?? '',
      kind: m ? m[2].replace(/^attention\//, 'attention ') : 'other',
      sparsity: t.sparsity,
      name: t.name,
    };
  });
  const latencyRows: LatencyRow[] = r.latency.map((l) => ({
    runtime: `onnxruntime-node ${l.file}`,
    case: `batch ${l.batch} × seq ${l.seq}`,
    medianMs: l.medianMs,
  }));
  if (browser) {
    latencyRows.push({ runtime: 'onnxruntime-node int8', case: 'batch 1, test texts', medianMs: browser.latency.ortNodeMedianMs });
    latencyRows.push({ runtime: `onnxruntime-web int8 (${browser.browser.name})`, case: 'batch 1, test texts', medianMs: browser.latency.browserMedianMs });
  }

  // Each chart with the section it goes in.
  const charts: Array<{ section: ChartSection; html: string }> = [];
  const chart = (section: ChartSection, html: string) => charts.push({ section, html });
  const testPoints = testAccuracyPoints(r);
  if (testPoints.length)
    chart(
      'accuracy',
      figure(
        'Test accuracy of each ONNX file, with its 95% interval.',
        await renderSvg(testAccuracySpec(testPoints)),
        'ONNX Runtime on the test split; the bar is a bootstrap interval resampled by group (docs/guide.md, "How to read the intervals").',
      ),
    );
  if (loss.length)
    chart(
      'training',
      figure(
        'Training loss per stage.',
        await renderSvg(lossSpec(loss)),
        'loss is the objective each stage minimises; task_loss and kd_loss are its parts where the stage distils from a teacher.',
      ),
    );
  if (accuracy.length)
    chart(
      'training',
      figure(
        'Evaluation accuracy per stage.',
        await renderSvg(accuracySpec(accuracy)),
        'masked-LM accuracy on held-out text for pre-training stages, dev accuracy for the task stages, at each evaluation.',
      ),
    );
  if (sparsity)
    chart(
      'sparsity',
      figure(
        `Sparsity against step (${sparsity.stage}).`,
        await renderSvg(sparsitySpec(sparsity.points)),
        "the pruning schedule's target at every step and the encoder Linear sparsity measured at the stage's evaluations.",
      ),
    );
  if (layerRows.length)
    chart(
      'sparsity',
      figure(
        'Per-layer sparsity.',
        await renderSvg(layerSparsitySpec(layerRows)),
        `zeros over weights of each encoder Linear weight as stored in ${INT8_FILE} (report.json "tensors").`,
      ),
    );
  chart(
    'size',
    figure('Size by part.', await renderSvg(sizeSpec(sizes.rows, sizes.parts)), `bytes of each file per part, raw and compressed; ${sizes.source}.`),
  );
  if (latencyRows.length)
    chart(
      'latency',
      figure(
        'Latency.',
        await renderSvg(latencySpec(latencyRows)),
        'median wall time of one forward pass on this machine (report.json "latency"; the in-browser rows from web/browser-metrics.json).',
      ),
    );

  const chartsOf = (section: ChartSection) => charts.filter((c) => c.section === section).map((c) => c.html);

  const t = r.totals;
  const tiles = [
    ['encoder Linear sparsity', pct(t.encoderLinear.sparsity, 1)],
    ['int8 file', `${mb(r.files.int8.bytes)}`],
    ['fp32 file / int8 file', `${r.ratios.file.value.toFixed(2)}x`],
    ['encoder compression (stored)', `${r.ratios.encoder_stored.value.toFixed(2)}x`],
    ['int8 accuracy (ORT)', pct(r.accuracy.int8Ort)],
    ...(browser
      ? [
          ['int8 accuracy in the browser', pct(browser.accuracy.browser)],
          ['first prediction in the browser', `${(browser.timeToFirstPredictionMs / 1000).toFixed(2)} s`],
        ]
      : []),
  ];

  const body = [
    `<h1>prune-once report: ${esc(r.run.name)}</h1>`,
    `<p class="meta">${esc(
      `Backend ${r.run.backend}, seed ${r.run.seed}, ${r.run.machine.cpus} × ${r.run.machine.cpuModel}, ${r.run.machine.memoryGiB} GiB; ${Object.entries(
        r.run.versions,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}. Report made ${r.run.createdAt}.`,
    )}</p>`,
    `<nav><a href="#accuracy">accuracy</a><a href="#training">training</a><a href="#sparsity">sparsity</a><a href="#size">size</a><a href="#latency">latency</a>${browser ? '<a href="#browser">browser</a>' : ''}<a href="#weights">weights</a></nav>`,
    `<div class="tiles">${tiles.map(([k, v]) => `<div class="tile"><div class="v">${esc(v)}</div><div class="k">${esc(k)}</div></div>`).join('')}</div>`,
    `<h2 id="accuracy">Accuracy</h2>`,
    accuracyTable(r, browser),
    ...chartsOf('accuracy'),
    `<p class="note">${esc(`Masked-LM accuracy on held-out text: teacher ${pct(r.accuracy.mlm.teacher)}, sparse student ${pct(r.accuracy.mlm.sparseStudent)}, unigram baseline ${pct(r.accuracy.mlm.unigramBaseline)}.`)}</p>`,
    `<h2 id="training">Training</h2>`,
    ...chartsOf('training'),
    `<h2 id="sparsity">Sparsity</h2>`,
    ...chartsOf('sparsity'),
    `<h2 id="size">Size</h2>`,
    ...chartsOf('size'),
    table(
      ['file', 'bytes', 'gzip -9 bytes'],
      [
        [
          td('model.fp32.onnx'),
          cell('files.fp32.bytes', r.files.fp32.bytes, int(r.files.fp32.bytes)),
          cell('files.fp32.gzipBytes', r.files.fp32.gzipBytes, int(r.files.fp32.gzipBytes)),
        ],
        [
          td('model.int8.onnx'),
          cell('files.int8.bytes', r.files.int8.bytes, int(r.files.int8.bytes)),
          cell('files.int8.gzipBytes', r.files.int8.gzipBytes, int(r.files.int8.gzipBytes)),
        ],
      ],
    ),
    table(
      ['ratio', 'value', 'definition'],
      Object.entries(r.ratios).map(([k, v]) => [td(k), cell(`ratios.${k}.value`, v.value, `${v.value.toFixed(2)}x`), td(v.definition)]),
    ),
    `<h2 id="latency">Latency</h2>`,
    ...chartsOf('latency'),
    table(
      ['file', 'batch', 'seq', 'median ms', 'p90 ms', 'runs'],
      r.latency.map((l, i) => [
        td(l.file),
        td(String(l.batch)),
        td(String(l.seq)),
        cell(`latency.${i}.medianMs`, l.medianMs, l.medianMs.toFixed(2)),
        cell(`latency.${i}.p90Ms`, l.p90Ms, l.p90Ms.toFixed(2)),
        td(String(l.runs)),
      ]),
    ),
    browser
      ? browserSection(browser)
      : `<p class="note">${esc(browserNote ?? 'No in-browser figures yet: `prune-once bundle <run> --measure` runs the int8 model in Chromium and adds them here.')}</p>`,
    `<h2 id="weights">Weights</h2>`,
    table(
      ['tensor', 'shape', 'role', 'params', 'non-zeros', 'sparsity', 'int8 file storage', 'int8 file bytes', 'fp32 file bytes'],
      r.tensors.map((w) => [
        td(w.name),
        td(`[${w.shape.join(', ')}]`),
        td(w.role),
        cell(`tensors.${w.name}.params`, w.params, int(w.params)),
        cell(`tensors.${w.name}.nonZeros`, w.nonZeros, int(w.nonZeros)),
        cell(`tensors.${w.name}.sparsity`, w.sparsity, pct(w.sparsity)),
        td(
          w.int8File.storage === 'sparse' ? `${w.int8File.dtype} sparse (${w.int8File.layout}, ${w.int8File.indexType} indices)` : `${w.int8File.dtype} dense`,
        ),
        cell(`tensors.${w.name}.int8File.bytes`, w.int8File.bytes, int(w.int8File.bytes)),
        cell(`tensors.${w.name}.fp32Bytes`, w.fp32Bytes, int(w.fp32Bytes)),
      ]),
    ),
    `<h2>Time per stage</h2>`,
    table(
      ['stage', 'seconds'],
      r.stages.map((s) => [td(s.stage), cell(`stages.${s.stage}.seconds`, s.seconds, s.seconds.toFixed(1))]),
    ),
    `<p class="note">${esc(
      `Quantization: ${Object.entries(r.quantization)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ')}. Charts by ${vegaVersions}, rendered to SVG when this file was written; the page runs no script.`,
    )}</p>`,
  ];
  return htmlPage(`prune-once report: ${r.run.name}`, body);
}
