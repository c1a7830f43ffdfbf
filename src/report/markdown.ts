/** The report as Markdown tables, for report.md and the terminal. */
import type { BrowserMetrics } from '../run/browser-metrics.js';
import { reportBrotliQuality, type Report } from './schema.js';
import { ONNX_FILES } from '../run/layout.js';

const pct = (v: number | null) => (v === null || Number.isNaN(v) ? 'n/a' : `${(v * 100).toFixed(2)}%`);
const pts = (v: number | null) => (v === null || Number.isNaN(v) ? 'n/a' : `${v >= 0 ? '+' : ''}${v.toFixed(2)}`);
/** An accuracy with its 95% interval when it has one: `96.27% [94.92, 97.46]`. */
export const pctWithInterval = (v: number | null, iv?: readonly [number, number]) =>
  iv && v !== null ? `${pct(v)} [${(iv[0] * 100).toFixed(2)}, ${(iv[1] * 100).toFixed(2)}]` : pct(v);
/** A difference in points with its paired 95% interval: `+0.85 [-0.34, +2.03]`. */
export const ptsWithInterval = (d: { points: number; interval: readonly [number, number] } | undefined) =>
  d ? `${pts(d.points)} [${pts(d.interval[0])}, ${pts(d.interval[1])}]` : 'n/a';
const int = (v: number) => v.toLocaleString('en-US');
const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : 'n/a');

function mdTable(header: string[], rows: Array<Array<string | number>>): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

export function renderMarkdown(r: Report): string {
  const a = r.accuracy;
  const iv = a.intervals ?? {};
  const out: string[] = [];
  out.push(`# prune-once report: ${r.run.name}`);
  out.push(
    `Backend ${r.run.backend}, seed ${r.run.seed}, ${r.run.machine.cpus} x ${r.run.machine.cpuModel}, ${r.run.machine.memoryGiB} GiB; ` +
      Object.entries(r.run.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') +
      '.',
  );
  if (r.path)
    out.push(
      `\nThe model: ${r.path.description}; the dense teacher ${r.path.teacher === 'taken as is' ? 'taken as is (a fine-tuned classifier, not trained here)' : 'fine-tuned here'}.`,
    );
  out.push(`\n## Accuracy on the test split (${Number.isFinite(a.examples) ? int(a.examples) : '?'} examples)\n`);
  out.push(
    mdTable(
      ['model', 'accuracy', 'vs dense teacher (points)'],
      [
        ['dense teacher (fp32)', pctWithInterval(a.teacherOrt, iv.teacherOrt), ''],
        ['sparse student (fp32)', pctWithInterval(a.fp32Ort, iv.fp32Ort), pts(a.deltaPoints.fp32Ort)],
        ['sparse int8 student', pctWithInterval(a.int8Ort, iv.int8Ort), pts(a.deltaPoints.int8Ort)],
      ],
    ),
  );
  if (a.intervals)
    out.push(
      `\nIn brackets: 95% bootstrap intervals over the test split, resampled by group (ONNX Runtime figures; docs/guide.md, "How to read the intervals"). ` +
        `int8 - dense teacher, both in ONNX Runtime, paired on the same resamples: ${ptsWithInterval(a.int8MinusTeacherOrt)} points.`,
    );
  if (a.mlm.teacher !== null || a.mlm.sparseStudent !== null)
    out.push(
      `\nMasked-LM accuracy on held-out text: teacher ${pct(a.mlm.teacher)}, sparse student ${pct(a.mlm.sparseStudent)}, unigram baseline ${pct(a.mlm.unigramBaseline)}.`,
    );
  const t = r.totals;
  out.push('\n## Compression\n');
  out.push(
    mdTable(
      ['ratio', 'value', 'definition'],
      Object.entries(r.ratios).map(([k, v]) => [k, x(v.value), v.definition]),
    ),
  );
  out.push(
    `\nEncoder Linear weights: ${int(t.encoderLinear.params)} parameters, ${int(t.encoderLinear.nonZeros)} non-zero (sparsity ${pct(t.encoderLinear.sparsity)}). ` +
      `Whole model: ${int(t.model.params)} parameters, ${int(t.model.nonZeros)} non-zero (sparsity ${pct(t.model.sparsity)}).`,
  );
  out.push('\n' + sizeTable(r));
  out.push('\n' + embeddingVerdict(r));
  out.push(
    `\nQuantization: ${Object.entries(r.quantization)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}.\n`,
  );
  out.push('\n## Weights\n');
  out.push(
    mdTable(
      ['tensor', 'shape', 'role', 'params', 'non-zeros', 'sparsity', 'int8 file storage', 'int8 file bytes', 'fp32 file bytes'],
      r.tensors.map((w) => [
        w.name,
        `[${w.shape.join(', ')}]`,
        w.role,
        int(w.params),
        int(w.nonZeros),
        pct(w.sparsity),
        storageLabel(w.int8File),
        int(w.int8File.bytes),
        int(w.fp32Bytes),
      ]),
    ),
  );
  if (r.latency.length) {
    out.push('\n## ONNX Runtime latency (CPU, same process)\n');
    out.push(
      mdTable(
        ['file', 'batch', 'seq', 'median ms', 'p90 ms', 'runs'],
        r.latency.map((l) => [l.file, l.batch, l.seq, l.medianMs.toFixed(2), l.p90Ms.toFixed(2), l.runs]),
      ),
    );
  }
  out.push('\n## Time per stage\n');
  const mb = (v: number | undefined) => (v === undefined ? '' : Math.round(v).toLocaleString('en-US'));
  out.push(
    mdTable(
      ['stage', 'seconds', 'peak wasm heap, main thread (MB)', 'peak wasm heap, largest worker (MB)', 'peak RSS (MB)'],
      r.stages.map((s) => [s.stage, s.seconds.toFixed(1), mb(s.memory?.wasmHeapPeakMb), mb(s.memory?.workerWasmHeapPeakMb), mb(s.memory?.rssPeakMb)]),
    ),
  );
  out.push('\nThe wasm heap is per thread (each gradient worker has its own) and can not pass 4,096 MB; peak RSS counts the whole process, every thread.');
  out.push(
    '\nHow to read this: `encoder_theoretical` is the paper-style figure (Prune OFA\'s "40x" is 10x from 90% sparsity times 4x from int8); ' +
      '`encoder_stored` is what those weights really take on disk, masks, gaps and scales included; `teacher_file*` compare the dense teacher a user starts from with the int8 file a user ships ' +
      `(raw, gzip -9, brotli ${reportBrotliQuality(r)}); \`file\` and \`file_gzip\` compare with the sparse student stored as dense fp32. ` +
      'Compact weights (mask, gaps or nibbles) are rebuilt by a small subgraph of standard ONNX ops that ONNX Runtime folds when it loads the model: they save disk and download, not compute.',
  );
  return (
    out
      .join('\n')
      .replace(/\n(#+ )/g, '\n\n$1')
      .replace(/\n{3,}/g, '\n\n') + '\n'
  );
}

const kib = (n: number | undefined) => (n === undefined ? 'n/a' : (n / 1024).toFixed(1));

/** Per file: raw / gzip -9 / brotli bytes, bytes by part, bits per encoder Linear weight. */
function sizeTable(r: Report): string {
  const rows: Array<[string, Report['files']['fp32'] | undefined]> = [
    ['dense teacher (fp32)', r.files.teacher],
    ['sparse student (fp32)', r.files.fp32],
    [`sparse int8, ${r.files.int8.embeddings ?? 'default'} tables (default)`, r.files.int8],
    [`sparse int8, ${r.files.int8AltEmbeddings?.embeddings ?? ''} tables`, r.files.int8AltEmbeddings],
  ];
  return mdTable(
    [
      'file',
      'what',
      'bytes',
      'gzip -9',
      `brotli ${reportBrotliQuality(r)}`,
      'embeddings KiB',
      'encoder Linear KiB',
      'heads KiB',
      'other KiB',
      'bits / encoder weight',
    ],
    rows
      .filter((row): row is [string, NonNullable<(typeof row)[1]>] => !!row[1])
      .map(([what, f]) => [
        `\`${f.path.split('/').pop()}\``,
        what,
        int(f.bytes),
        int(f.gzipBytes),
        f.brotliBytes === undefined ? 'n/a' : int(f.brotliBytes),
        kib(f.parts?.bytes.embeddings),
        kib(f.parts?.bytes.encoderLinear),
        kib(f.parts?.bytes.heads),
        kib(f.parts?.bytes.other),
        f.parts?.encoderBitsPerWeight == null ? 'n/a' : f.parts.encoderBitsPerWeight.toFixed(2),
      ]),
  );
}

/** ONNX Runtime accuracy of both embedding-table choices; says plainly when quantized (int8 or int4) tables cost more than 0.5 point. */
function embeddingVerdict(r: Report): string {
  const alt = r.files.int8AltEmbeddings;
  const main = r.accuracy.int8Ort;
  if (!alt || main === null || alt.ortTestAccuracy === null) return '';
  const mainTables = r.files.int8.embeddings ?? (alt.embeddings === 'float32' ? 'int8' : 'float32');
  const mainQuantized = mainTables !== 'float32';
  const [qAcc, fp32Acc] = mainQuantized ? [main, alt.ortTestAccuracy] : [alt.ortTestAccuracy, main];
  const tables = mainQuantized ? mainTables : alt.embeddings;
  const cost = (fp32Acc - qAcc) * 100;
  const line = `Embedding tables: ${tables} per-row ${pct(qAcc)}, float32 ${pct(fp32Acc)} (ONNX Runtime, test split; \`${alt.path.split('/').pop()}\` holds the ${alt.embeddings} choice).`;
  return cost > 0.5
    ? `${line} **${tables} embedding tables cost ${cost.toFixed(2)} points of test accuracy here, more than 0.5**: set \`quantization.embeddings: false\`${tables === 'int4' ? ' or `embeddingBits: 8`' : ''} (or ship \`${mainQuantized ? alt.path.split('/').pop() : ONNX_FILES.int8}\`) if that matters more than size.`
    : cost > 0
      ? `${line} ${tables} tables cost ${cost.toFixed(2)} points (0.5 or less).`
      : `${line} ${tables} tables cost nothing here (${cost === 0 ? 'the same accuracy as' : `${(-cost).toFixed(2)} points above`} float32 tables).`;
}

/** How one weight is stored in the int8 file, as the report's table says it. */
function storageLabel(f: Report['tensors'][number]['int8File']): string {
  switch (f.storage) {
    case 'sparse':
      return `${f.dtype} sparse (${f.layout}, ${f.indexType} indices)`;
    case 'mask':
      return `${f.dtype} non-zeros + 1-bit mask`;
    case 'gaps':
      return `${f.dtype} non-zeros + uint8 gaps`;
    case 'nibbles':
      return `4-bit, two a byte`;
    default:
      return `${f.dtype} dense`;
  }
}

/** The in-browser figures as Markdown, for report.md. */
export function browserMarkdown(m: BrowserMetrics): string {
  const mbs = (v: number) => `${(v / 1e6).toFixed(2)} MB`;
  return [
    '## In the browser',
    '',
    `${m.browser.name} ${m.browser.version}, onnxruntime-web ${m.runtime.version} (${m.runtime.backend}, ${m.runtime.threads} thread), measured ${m.measuredAt}; onnxruntime-node ${m.latency.ortNodeVersion} on the same token ids for comparison.`,
    '',
    '| | browser (onnxruntime-web) | Node (onnxruntime-node) |',
    '|---|---|---|',
    `| download, first visit (brotli) | ${mbs(m.download.brotliBytes)} (model ${mbs(m.download.modelBrotliBytes)}) | |`,
    `| time to first prediction | ${m.timeToFirstPredictionMs.toFixed(0)} ms | |`,
    `| latency per example, median / p90 (batch 1) | ${m.latency.browserMedianMs.toFixed(2)} / ${m.latency.browserP90Ms.toFixed(2)} ms | ${m.latency.ortNodeMedianMs.toFixed(2)} / ${m.latency.ortNodeP90Ms.toFixed(2)} ms |`,
    `| test accuracy (${m.accuracy.examples} examples) | ${(m.accuracy.browser * 100).toFixed(2)}% | ${(m.accuracy.ortNode * 100).toFixed(2)}% |`,
    `| same prediction as onnxruntime-node | ${(m.accuracy.agreement * 100).toFixed(2)}% (max logit difference ${m.accuracy.maxLogitDiff.toExponential(2)}) | |`,
    '',
  ].join('\n');
}
