/** The report as Markdown tables, for report.md and the terminal. */
import type { Report } from './schema.js';

const pct = (v: number | null) => (v === null || Number.isNaN(v) ? 'n/a' : `${(v * 100).toFixed(2)}%`);
const pts = (v: number | null) => (v === null || Number.isNaN(v) ? 'n/a' : `${v >= 0 ? '+' : ''}${v.toFixed(2)}`);
const int = (v: number) => v.toLocaleString('en-US');
const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : 'n/a');

function mdTable(header: string[], rows: Array<Array<string | number>>): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

export function renderMarkdown(r: Report): string {
  const a = r.accuracy;
  const out: string[] = [];
  out.push(`# prune-once report: ${r.run.name}`);
  out.push(
    `Backend ${r.run.backend}, seed ${r.run.seed}, ${r.run.machine.cpus} x ${r.run.machine.cpuModel}, ${r.run.machine.memoryGiB} GiB; ` +
      Object.entries(r.run.versions).map(([k, v]) => `${k} ${v}`).join(', ') + '.',
  );
  out.push(`\n## Accuracy on the test split (${Number.isFinite(a.examples) ? int(a.examples) : '?'} examples)\n`);
  out.push(
    mdTable(['model', 'accuracy', 'vs dense teacher (points)'], [
      ['dense teacher (fp32, tfjs)', pct(a.teacher), ''],
      ['sparse student (fp32, tfjs)', pct(a.sparseStudent), pts(a.deltaPoints.sparseStudent)],
      ['sparse student (fp32, ONNX Runtime)', pct(a.fp32Ort), pts(a.deltaPoints.fp32Ort)],
      ['sparse int8 student (tfjs, fake-quantized)', pct(a.int8Tfjs), pts(a.deltaPoints.int8Tfjs)],
      ['sparse int8 student (ONNX Runtime)', pct(a.int8Ort), pts(a.deltaPoints.int8Ort)],
    ]),
  );
  out.push(`\nMasked-LM accuracy on held-out text: teacher ${pct(a.mlm.teacher)}, sparse student ${pct(a.mlm.sparseStudent)}, unigram baseline ${pct(a.mlm.unigramBaseline)}.`);
  const t = r.totals;
  out.push('\n## Compression\n');
  out.push(mdTable(['ratio', 'value', 'definition'], Object.entries(r.ratios).map(([k, v]) => [k, x(v.value), v.definition])));
  out.push(
    `\nEncoder Linear weights: ${int(t.encoderLinear.params)} parameters, ${int(t.encoderLinear.nonZeros)} non-zero (sparsity ${pct(t.encoderLinear.sparsity)}). ` +
      `Whole model: ${int(t.model.params)} parameters, ${int(t.model.nonZeros)} non-zero (sparsity ${pct(t.model.sparsity)}).`,
  );
  out.push(
    '\n' + mdTable(['file', 'bytes', 'gzip -9 bytes'], [
      ['model.fp32.onnx', int(r.files.fp32.bytes), int(r.files.fp32.gzipBytes)],
      ['model.int8.onnx', int(r.files.int8.bytes), int(r.files.int8.gzipBytes)],
    ]),
  );
  const alt = r.files.int8AltEmbeddings;
  if (alt) {
    out.push(
      `\nWith ${alt.embeddings} embedding tables instead (\`${alt.path.split('/').pop()}\`): ${int(alt.bytes)} bytes (gzip ${int(alt.gzipBytes)}), ` +
        `file ratio ${x(alt.fileRatio)}, ONNX Runtime test accuracy ${pct(alt.ortTestAccuracy)}.`,
    );
  }
  out.push(`\nQuantization: ${Object.entries(r.quantization).map(([k, v]) => `${k}: ${v}`).join('; ')}.\n`);
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
        w.int8File.storage === 'sparse' ? `${w.int8File.dtype} sparse (${w.int8File.layout}, ${w.int8File.indexType} indices)` : `${w.int8File.dtype} dense`,
        int(w.int8File.bytes),
        int(w.fp32Bytes),
      ]),
    ),
  );
  if (r.latency.length) {
    out.push('\n## ONNX Runtime latency (CPU, same process)\n');
    out.push(mdTable(['file', 'batch', 'seq', 'median ms', 'p90 ms', 'runs'], r.latency.map((l) => [l.file, l.batch, l.seq, l.medianMs.toFixed(2), l.p90Ms.toFixed(2), l.runs])));
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
      '`encoder_stored` is what those weights really take on disk, indices and scales included; `file` and `file_gzip` compare the two whole files, ' +
      'where the float embedding tables usually dominate for small BERTs. Sparse initializers save disk, not compute: ONNX Runtime densifies them when it loads the model.',
  );
  return out.join('\n').replace(/\n(#+ )/g, '\n\n$1').replace(/\n{3,}/g, '\n\n') + '\n';
}
