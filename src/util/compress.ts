/**
 * Brotli and gzip at the settings prune-once quotes sizes with (brotli quality 11 unless said,
 * gzip -9): the report's file sizes, the sweep report's, and the `.br`/`.gz` copies a web bundle
 * stores beside each file (what a static host that serves precompressed files sends).
 */
import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, constants, gzip, type BrotliOptions } from 'node:zlib';

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

export const DEFAULT_BROTLI_QUALITY = 11;

export const brotliOptions = (data: Uint8Array, quality: number): BrotliOptions => ({
  params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
});

export async function brotli(data: Uint8Array, quality = DEFAULT_BROTLI_QUALITY): Promise<Buffer> {
  return brotliAsync(data, brotliOptions(data, quality));
}

/** Bytes of `data` after brotli at `quality`. */
export function brotliSize(data: Uint8Array, quality = DEFAULT_BROTLI_QUALITY): number {
  return brotliCompressSync(data, brotliOptions(data, quality)).length;
}

export async function gzipMax(data: Uint8Array): Promise<Buffer> {
  return gzipAsync(data, { level: 9 });
}
