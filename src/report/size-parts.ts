/**
 * Bytes of the fp32 and int8 files by part (embeddings, encoder Linear, heads, other), raw and
 * compressed, for the report's size chart.
 *
 * An adapter: issue 14 ("compact") adds per-part sizes to report.json itself; until a report has
 * them, they are computed here from the ONNX files. At merge, `fromReport` is the one place to map
 * compact's field, and the computation below becomes the fallback for older reports.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { weightRole, weightShapes, type BertConfig } from '../model/config.js';
import { decodeOnnx } from '../onnx/inspect.js';
import { readMetadata } from '../onnx/metadata.js';
import { onnx } from '../onnx/proto.js';
import { FP32_FILE, INT8_FILE } from './build.js';
import type { Report } from './schema.js';

export const SIZE_PARTS = ['embeddings', 'encoder Linear', 'heads', 'other'] as const;
export type SizePart = (typeof SIZE_PARTS)[number];

export interface PartSize {
  file: 'fp32' | 'int8';
  part: SizePart;
  bytes: number;
  gzipBytes: number;
  brotliBytes: number;
}

export interface SizeBreakdown {
  rows: PartSize[];
  /** Where the figures come from, said under the chart. */
  source: string;
}

/** Brotli quality of the fallback computation: 9 is within a few percent of 11 at a tenth of the time. */
const FALLBACK_BROTLI_QUALITY = 9;

const PART_OF_ROLE: Record<string, SizePart> = { embedding: 'embeddings', 'encoder-linear': 'encoder Linear', head: 'heads', other: 'other' };

/** Per-part sizes report.json carries itself (issue 14), or null. */
function fromReport(report: Report): SizeBreakdown | null {
  const parts = (report as unknown as { sizeParts?: PartSize[] }).sizeParts;
  return Array.isArray(parts) && parts.length ? { rows: parts, source: 'report.json' } : null;
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
  const rows: PartSize[] = [];
  for (const [file, name] of [['fp32', FP32_FILE], ['int8', INT8_FILE]] as const) {
    const path = join(runDir, name);
    if (!existsSync(path)) throw new Error(`${path} not found: the size chart needs the export stage's files (run the export stage first)`);
    const parts = partBytesOfFile(path);
    for (const part of SIZE_PARTS) {
      const data = Buffer.concat(parts[part]);
      rows.push({
        file,
        part,
        bytes: data.length,
        gzipBytes: gzipSync(data, { level: 9 }).length,
        brotliBytes: brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: FALLBACK_BROTLI_QUALITY } }).length,
      });
    }
  }
  return {
    rows,
    source: `computed from ${FP32_FILE} and ${INT8_FILE}: each part's serialized tensors (with their quantization parameters) compressed together, gzip -9 and brotli quality ${FALLBACK_BROTLI_QUALITY}; "other" includes the graph and metadata`,
  };
}

export function sizeBreakdown(report: Report, runDir: string): SizeBreakdown {
  return fromReport(report) ?? computeFromFiles(runDir);
}
