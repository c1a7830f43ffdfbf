/**
 * What a file costs to ship: raw, gzip -9 and brotli (quality 11) bytes; where the bytes go
 * (embeddings, encoder Linear, heads, other); and the ratios of a dense fp32 model over a
 * compressed one. Parts are found by weight name (model/weights.ts's roles), with each weight's
 * `<name>/scale` and `<name>/zero_point` counted with it; "other" is the rest of the file
 * (LayerNorm, biases, activation scales, graph constants, names and protobuf framing).
 */
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { weightRole } from '../model/weights.js';

export interface FileSizes {
  raw: number;
  gzip: number;
  brotli: number;
  brotliQuality: number;
}

export function fileSizes(bytes: Uint8Array, brotliQuality = 11): FileSizes {
  const brotli = brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: brotliQuality, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  }).length;
  return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, brotli, brotliQuality };
}

export interface PartBreakdown {
  /** Bytes by part; they sum to the file's bytes. */
  bytes: { embeddings: number; encoderLinear: number; heads: number; other: number };
  /** Elements of the encoder Linear weights (0 when the file has none by our names). */
  encoderParams: number;
  /** 8 x encoder Linear bytes (values, masks, gaps, indices, scales) / encoderParams; null without encoder weights. */
  encoderBitsPerWeight: number | null;
}

type Part = keyof PartBreakdown['bytes'];
const PART_OF_ROLE: Record<string, Part> = { embedding: 'embeddings', 'encoder-linear': 'encoderLinear', head: 'heads', other: 'other' };

/** Splits a file's bytes by part from its inspected initializers (main graph; others count as 'other'). */
export function partBreakdown(
  inits: ReadonlyArray<{ name: string; graph: string; bytes: number; numel: number; location: string }>,
  fileBytes: number,
): PartBreakdown {
  const bytes = { embeddings: 0, encoderLinear: 0, heads: 0, other: 0 };
  let encoderParams = 0;
  for (const t of inits) {
    if (t.graph !== 'main' || t.location === 'external') continue;
    const weight = t.name.replace(/\/(scale|zero_point)$/, '');
    const part = PART_OF_ROLE[weightRole(weight)];
    if (part === 'other') continue;
    bytes[part] += t.bytes;
    if (part === 'encoderLinear' && weight === t.name) encoderParams += t.numel;
  }
  bytes.other = fileBytes - bytes.embeddings - bytes.encoderLinear - bytes.heads;
  return { bytes, encoderParams, encoderBitsPerWeight: encoderParams ? (8 * bytes.encoderLinear) / encoderParams : null };
}

export interface SizeRatios {
  /** Dense fp32 model's file over the compressed file: raw, gzip -9, brotli. */
  raw: number;
  gzip: number;
  brotli: number;
  /** fp32 bytes of the encoder Linear weights (4 x params) over what they take in the compressed file. */
  encoder_stored: number;
  /** Paper-style: 32 bits x params over 8 bits x non-zeros, no index cost. */
  encoder_theoretical: number;
}

export function sizeRatios(dense: { sizes: FileSizes }, small: { sizes: FileSizes; parts: PartBreakdown }, encoderNonZeros: number): SizeRatios {
  const r = (a: number, b: number) => (b > 0 ? a / b : NaN);
  const p = small.parts;
  return {
    raw: r(dense.sizes.raw, small.sizes.raw),
    gzip: r(dense.sizes.gzip, small.sizes.gzip),
    brotli: r(dense.sizes.brotli, small.sizes.brotli),
    encoder_stored: r(4 * p.encoderParams, p.bytes.encoderLinear),
    encoder_theoretical: r(32 * p.encoderParams, 8 * encoderNonZeros),
  };
}
