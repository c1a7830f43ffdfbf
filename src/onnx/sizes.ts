/**
 * What a file costs to ship: raw, gzip -9 and brotli (quality 11) bytes; where the bytes go
 * (embeddings, encoder Linear, heads, other); and the ratios of a dense fp32 model over a
 * compressed one. Parts are found by weight name (model/weights.ts's roles), with each weight's
 * `<name>/scale` and `<name>/zero_point` counted with it; "other" is the rest of the file
 * (LayerNorm, biases, activation scales, graph constants, names and protobuf framing).
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, gzip, gzipSync } from 'node:zlib';
import { weightRole } from '../model/weights.js';
import { brotliOptions } from '../util/compress.js';

export interface FileSizes {
  raw: number;
  gzip: number;
  brotli: number;
  brotliQuality: number;
}

/**
 * Sizes already computed in this process, by content: brotli 11 takes ~10 s for a 6 MB fp32 file,
 * and the report, `inspect` and the sweep report may all ask for the same file.
 */
const known = new Map<string, FileSizes>();
const keyOf = (bytes: Uint8Array, quality: number) => `${createHash('sha256').update(bytes).digest('hex')}/${quality}`;

export function fileSizes(bytes: Uint8Array, brotliQuality = 11): FileSizes {
  const key = keyOf(bytes, brotliQuality);
  let sizes = known.get(key);
  if (!sizes) {
    const brotli = brotliCompressSync(bytes, brotliOptions(bytes, brotliQuality)).length;
    sizes = { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, brotli, brotliQuality };
    known.set(key, sizes);
  }
  return sizes;
}

/**
 * `fileSizes` of several files at once, on libuv's thread pool (one compression per core), so a
 * later `fileSizes` of the same bytes is a lookup: the report stage calls it first for its files.
 */
export async function precomputeFileSizes(files: Uint8Array[], brotliQuality = 11): Promise<void> {
  const brotliAsync = promisify(brotliCompress);
  const gzipAsync = promisify(gzip);
  await Promise.all(
    files.map(async (bytes) => {
      const key = keyOf(bytes, brotliQuality);
      if (known.has(key)) return;
      const [br, gz] = await Promise.all([brotliAsync(bytes, brotliOptions(bytes, brotliQuality)), gzipAsync(bytes, { level: 9 })]);
      known.set(key, { raw: bytes.length, gzip: gz.length, brotli: br.length, brotliQuality });
    }),
  );
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
