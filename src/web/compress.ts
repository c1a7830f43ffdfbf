/**
 * The two content encodings browsers accept for static files, from Node's zlib. The bundle stores
 * each file's `.br` and `.gz` beside it, made once at the highest settings (what a static host that
 * serves precompressed files sends), and `serve` sends those.
 */
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

export const DEFAULT_BROTLI_QUALITY = 11;

export async function brotli(data: Uint8Array, quality = DEFAULT_BROTLI_QUALITY): Promise<Buffer> {
  return brotliAsync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  });
}

export async function gzipMax(data: Uint8Array): Promise<Buffer> {
  return gzipAsync(data, { level: 9 });
}
