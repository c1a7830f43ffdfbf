/** `inspect` output for a terminal: file facts, a table of tensors, totals, sizes and quantization. */
import { weightRole } from '../../model/weights.js';
import type { SizeRatios } from '../sizes.js';
import type { OnnxInspection } from './analyse.js';

/** Left-aligned text, right-aligned numbers, two spaces between columns. */
export function table(header: string[], rows: string[][], rightAlign: boolean[] = []): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => (rightAlign[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(2)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);

export function formatInspection(ins: OnnxInspection): string {
  const out: string[] = [];
  const io = (v: OnnxInspection['inputs']) => v.map((x) => `${x.name}: ${x.dtype}[${x.shape.join(', ')}]`).join(', ');
  out.push(`${ins.source}: ${formatBytes(ins.fileBytes)} (${ins.fileBytes} bytes)`);
  out.push(
    `  IR ${ins.irVersion}, opsets ${ins.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}; producer ${ins.producer.name || '-'} ${ins.producer.version}`.trimEnd(),
  );
  out.push(`  graph '${ins.graphName}': ${ins.nodes} nodes; inputs ${io(ins.inputs)}; outputs ${io(ins.outputs)}`);
  const meta = Object.entries(ins.metadata);
  if (meta.length) out.push(`  metadata: ${meta.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  out.push(
    `  ops: ${Object.entries(ins.opCounts)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  out.push('');

  const rows = ins.initializers.map((t) => [
    t.name,
    t.dtype,
    `[${t.shape.join('x')}]`,
    t.sparse
      ? `sparse ${t.sparse.layout}/${t.sparse.indexDtype}`
      : t.compact
        ? t.compact.index === undefined
          ? `${t.compact.encoding} (${t.compact.valueBytes} B)`
          : `${t.compact.encoding} (${t.compact.indexBytes} + ${t.compact.valueBytes} B)`
        : t.location === 'external'
          ? 'external'
          : t.kind,
    t.nonZeros === null ? '-' : String(t.nonZeros),
    pct(t.sparsity),
    String(t.bytes),
  ]);
  out.push(table(['tensor', 'dtype', 'shape', 'storage', 'non-zeros', 'sparsity', 'bytes'], rows, [false, false, false, false, true, true, true]));
  const T = ins.totals;
  out.push('');
  out.push(
    `  ${T.tensors} tensors (${T.dense} dense, ${T.compact} compact, ${T.sparse} sparse, ${T.external} external): ${T.numel} elements, ${T.nonZeros} non-zero (${pct(T.sparsity)} sparse)`,
  );
  out.push(`  tensor data ${formatBytes(T.bytes)} (${T.bytes} bytes) + graph/protobuf overhead ${formatBytes(T.overheadBytes)}`);
  for (const [k, v] of Object.entries(T.bytesByDtype)) out.push(`    ${k}: ${formatBytes(v)} (${v} bytes)`);

  out.push('', formatParts(ins));
  if (!ins.portability.standard) out.push('', '  ONNX Runtime only:', ...ins.portability.reasons.map((r) => `    ${r}`));

  const Q = ins.quantization;
  out.push('');
  if (Q.format === 'none') {
    out.push('  quantization: none');
  } else {
    out.push(
      `  quantization: ${Q.format}; ${Q.weights.length} quantized weights (${Q.perChannel} per-channel, ${Q.perTensor} per-tensor); activations ${Q.activationsQuantized ? `quantized (${Q.activations.length} QuantizeLinear)` : 'float'}`,
    );
    if (Object.keys(Q.integerOps).length)
      out.push(
        `  integer ops: ${Object.entries(Q.integerOps)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
    if (Q.weights.length) {
      out.push(
        table(
          ['quantized weight', 'dtype', 'scheme', 'consumers'],
          Q.weights.map((w) => [w.tensor, w.dtype, w.perChannel ? `per-channel axis ${w.axis} (${w.channels})` : 'per-tensor', w.consumers.join(', ')]),
        ),
      );
    }
  }
  if (ins.warnings.length) out.push('', ...ins.warnings.map((w) => `  warning: ${w}`));
  if (ins.errors.length) out.push('', ...ins.errors.map((e) => `  error: ${e}`));
  return out.join('\n');
}

/** Bytes by part, bits per encoder weight, and (when computed) gzip and brotli sizes. */
export function formatParts(ins: OnnxInspection): string {
  const P = ins.parts;
  const share = (n: number) => `${formatBytes(n)} (${((100 * n) / Math.max(1, ins.fileBytes)).toFixed(1)}%)`;
  const lines = [
    `  by part: embeddings ${share(P.bytes.embeddings)}, encoder Linear ${share(P.bytes.encoderLinear)}, heads ${share(P.bytes.heads)}, other ${share(P.bytes.other)}`,
  ];
  if (P.encoderBitsPerWeight !== null) {
    const enc = ins.initializers.filter((t) => t.graph === 'main' && weightRole(t.name) === 'encoder-linear');
    const nz = enc.every((t) => t.nonZeros !== null) ? enc.reduce((a, t) => a + t.nonZeros!, 0) : null;
    lines.push(
      `  encoder Linear: ${P.encoderParams} weights at ${P.encoderBitsPerWeight.toFixed(2)} bits each (fp32: 32): encoder_stored ${(32 / P.encoderBitsPerWeight).toFixed(2)}x` +
        (nz ? `, encoder_theoretical ${((32 * P.encoderParams) / (8 * nz)).toFixed(2)}x (non-zeros at 8 bits, no index cost)` : ''),
    );
  }
  const S = ins.sizes;
  if (S) lines.push(`  file: ${S.raw} bytes raw, ${S.gzip} gzip -9, ${S.brotli} brotli (quality ${S.brotliQuality})`);
  return lines.join('\n');
}

/** Ratios of a dense baseline file (e.g. model.teacher.fp32.onnx) over the inspected file. */
export function formatBaselineRatios(baseline: string, r: Pick<SizeRatios, 'raw' | 'gzip' | 'brotli'>): string {
  return `  ${baseline} over this file: ${r.raw.toFixed(2)}x raw, ${r.gzip.toFixed(2)}x gzip -9, ${r.brotli.toFixed(2)}x brotli`;
}
