/**
 * Bytes of the exported files by part (embeddings, encoder Linear, heads, other), raw and
 * compressed, for the report's size chart.
 *
 * report.json carries each file's raw bytes by part (`files.*.parts`, src/onnx/sizes.ts) and its
 * whole-file gzip -9 / brotli 11 bytes; `fromReport` draws the chart from those figures. Reports
 * written before they existed fall back to a computation from the ONNX files (`computeFromFiles`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { brotliSize } from '../util/compress.js';
import { type BertConfig } from '../model/config.js';
import { weightRole, weightShapes } from '../model/weights.js';
import { decodeOnnx } from '../onnx/index.js';
import { readMetadata } from '../onnx/metadata.js';
import { onnx } from '../onnx/proto.js';
import { ONNX_FILES } from '../run/layout.js';
import { reportBrotliQuality, type FileEntry, type Report } from './schema.js';

const { fp32: FP32_FILE, int8: INT8_FILE } = ONNX_FILES;

export const SIZE_PARTS = ['embeddings', 'encoder Linear', 'heads', 'other'] as const;
export type SizePart = (typeof SIZE_PARTS)[number];
/**
 * A compressed bar from report.json: compression is not additive over parts (each part alone
 * compresses differently than inside the file), so the report gives compressed sizes per file.
 */
export const WHOLE_FILE = 'whole file';

/** One segment of the chart: a file's bytes in one encoding, for one part (or the whole file). */
export interface SizeBar {
  file: string;
  encoding: 'raw' | 'gzip' | 'brotli';
  part: SizePart | typeof WHOLE_FILE;
  bytes: number;
}

export interface SizeBreakdown {
  rows: SizeBar[];
  /** The chart's colour domain, in stacking order. */
  parts: readonly string[];
  /** Where the figures come from, said under the chart. */
  source: string;
}

/** Brotli quality of the fallback computation: 9 is within a few percent of 11 at a tenth of the time. */
const FALLBACK_BROTLI_QUALITY = 9;

const PART_OF_ROLE: Record<string, SizePart> = { embedding: 'embeddings', 'encoder-linear': 'encoder Linear', head: 'heads', other: 'other' };

/** report.json's file entries that carry parts, with the chart's file labels. */
const REPORT_FILES: ReadonlyArray<[keyof Report['files'], string]> = [
  ['teacher', 'teacher fp32'],
  ['fp32', 'fp32'],
  ['int8', 'int8'],
  ['int8AltEmbeddings', 'int8 alt. embeddings'],
];
const REPORT_PARTS: ReadonlyArray<[keyof NonNullable<FileEntry['parts']>['bytes'], SizePart]> = [
  ['embeddings', 'embeddings'],
  ['encoderLinear', 'encoder Linear'],
  ['heads', 'heads'],
  ['other', 'other'],
];

/** The chart from report.json's own figures (raw bytes by part, whole-file gzip and brotli), or null for older reports. */
function fromReport(report: Report): SizeBreakdown | null {
  const rows: SizeBar[] = [];
  for (const [key, file] of REPORT_FILES) {
    const f = report.files[key];
    if (!f?.parts || f.brotliBytes === undefined) continue;
    for (const [k, part] of REPORT_PARTS) rows.push({ file, encoding: 'raw', part, bytes: f.parts.bytes[k] });
    rows.push({ file, encoding: 'gzip', part: WHOLE_FILE, bytes: f.gzipBytes });
    rows.push({ file, encoding: 'brotli', part: WHOLE_FILE, bytes: f.brotliBytes });
  }
  if (!rows.some((r) => r.file === 'int8')) return null;
  return {
    rows,
    parts: [...SIZE_PARTS, WHOLE_FILE],
    source: `report.json: raw bytes by part ("files.*.parts"; each weight with its scale and zero point, "other" is the rest of the file), gzip -9 and brotli ${reportBrotliQuality(report)} of each whole file ("files.*.gzipBytes", "brotliBytes")`,
  };
}

/**
 * One file's initializers grouped by part: a weight's own tensor and its quantization parameters
 * (`<weight>/scale`, `<weight>/input_scale`, ...) go with the weight's role; graph constants, and the
 * graph and metadata themselves, count as "other".
 */
export function partBytesOfFile(path: string): Record<SizePart, Uint8Array[]> {
  const model = decodeOnnx(readFileSync(path), path);
  const md = readMetadata(model);
  if (!md.model_config) throw new Error(`${path}: no model_config in the metadata; was it exported by prune-once?`);
  const weights = weightShapes(JSON.parse(md.model_config) as BertConfig, { mlmHead: true }).map(([n]) => n);
  const partOf = (name: string): SizePart => {
    const w = weights.find((n) => name === n || name.startsWith(`${n}/`));
    return w ? PART_OF_ROLE[weightRole(w)] : 'other';
  };
  const out: Record<SizePart, Uint8Array[]> = { embeddings: [], 'encoder Linear': [], heads: [], other: [] };
  const g = model.graph!;
  for (const t of g.initializer ?? []) out[partOf(t.name ?? '')].push(onnx.TensorProto.encode(t).finish());
  for (const s of g.sparseInitializer ?? []) out[partOf(s.values?.name ?? '')].push(onnx.SparseTensorProto.encode(s).finish());
  const skeleton = onnx.ModelProto.create({ ...model, graph: onnx.GraphProto.create({ ...g, initializer: [], sparseInitializer: [] }) });
  out.other.push(onnx.ModelProto.encode(skeleton).finish());
  return out;
}

function computeFromFiles(runDir: string): SizeBreakdown {
  const rows: SizeBar[] = [];
  for (const [file, name] of [
    ['fp32', FP32_FILE],
    ['int8', INT8_FILE],
  ] as const) {
    const path = join(runDir, name);
    if (!existsSync(path)) throw new Error(`${path} not found: the size chart needs the export stage's files (run the export stage first)`);
    const parts = partBytesOfFile(path);
    for (const part of SIZE_PARTS) {
      const data = Buffer.concat(parts[part]);
      rows.push({ file, encoding: 'raw', part, bytes: data.length });
      rows.push({ file, encoding: 'gzip', part, bytes: gzipSync(data, { level: 9 }).length });
      rows.push({
        file,
        encoding: 'brotli',
        part,
        bytes: brotliSize(data, FALLBACK_BROTLI_QUALITY),
      });
    }
  }
  return {
    rows,
    parts: SIZE_PARTS,
    source: `computed from ${FP32_FILE} and ${INT8_FILE}: each part's serialized tensors (with their quantization parameters) compressed together, gzip -9 and brotli quality ${FALLBACK_BROTLI_QUALITY}; "other" includes the graph and metadata`,
  };
}

export function sizeBreakdown(report: Report, runDir: string): SizeBreakdown {
  return fromReport(report) ?? computeFromFiles(runDir);
}
