/**
 * `prune-once serve`: a bundle folder over HTTP on 127.0.0.1, sending each file's precompressed
 * `.br` or `.gz` sibling when the browser accepts it (so what a visitor downloads is the compressed
 * size), and compressing the few files without one (report, manifest) on the fly.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { type BundleManifest, formatBytes, MANIFEST_FILE, MANIFEST_SCHEMA, ORT_DIR } from '../run/bundle-manifest.js';

export const DEFAULT_PORT = 8321;
export const HOST = '127.0.0.1';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};
/** Worth compressing on the fly when the bundle has no precompressed sibling. */
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.json', '.txt', '.md', '.svg', '.wasm', '.onnx']);

/** Reads and checks `<dir>/manifest.json`; the error says how to make a bundle. */
export function readManifest(dir: string): BundleManifest {
  const path = join(dir, MANIFEST_FILE);
  const fix = `make one with \`prune-once bundle <run> --out ${dir}\`, or give serve the run directory itself`;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir}: no such directory; ${fix}`);
  if (!existsSync(path)) throw new Error(`${dir} is not a prune-once web bundle (no ${MANIFEST_FILE}); ${fix}`);
  let m: BundleManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as BundleManifest;
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message}); ${fix}`);
  }
  if (m?.schema !== MANIFEST_SCHEMA) throw new Error(`${path}: 'schema' is ${JSON.stringify(m?.schema)}, not '${MANIFEST_SCHEMA}'; ${fix}`);
  for (const f of m.files)
    if (!existsSync(join(dir, f.path))) throw new Error(`${join(dir, f.path)}: listed in ${MANIFEST_FILE} but missing; the bundle is incomplete, ${fix}`);
  return m;
}

/** 'br', 'gzip' or null, from an Accept-Encoding header (q=0 means refused). */
export function pickEncoding(header: string | undefined): 'br' | 'gzip' | null {
  const accepted = new Set(
    (header ?? '')
      .split(',')
      .map((p) => p.trim().split(';'))
      .filter(([, q]) => !q || Number(q.trim().replace(/^q=/, '')) > 0)
      .map(([name]) => name.trim().toLowerCase()),
  );
  if (accepted.has('br')) return 'br';
  if (accepted.has('gzip')) return 'gzip';
  return null;
}

export interface BundleServer {
  url: string;
  port: number;
  manifest: BundleManifest;
  server: Server;
  close(): Promise<void>;
}

/** The bytes to send for `file`, in the encoding chosen: the precompressed sibling, or compressed now (cached). */
/** True when `file`'s real path (symlinks resolved) is inside `realRoot`. */
function inside(realRoot: string, file: string): boolean {
  const real = realpathSync(file);
  return real === realRoot || real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep);
}

function encodedBody(
  file: string,
  encoding: 'br' | 'gzip' | null,
  cache: Map<string, Buffer>,
  realRoot: string,
): { body: Buffer; encoding: 'br' | 'gzip' | null } {
  if (!encoding || !COMPRESSIBLE.has(extname(file))) return { body: readFileSync(file), encoding: null };
  const sibling = `${file}.${encoding === 'br' ? 'br' : 'gz'}`;
  if (existsSync(sibling) && inside(realRoot, sibling) && statSync(sibling).mtimeMs >= statSync(file).mtimeMs) return { body: readFileSync(sibling), encoding };
  const key = `${encoding}:${file}:${statSync(file).mtimeMs}`;
  let body = cache.get(key);
  if (!body) {
    const raw = readFileSync(file);
    body = encoding === 'br' ? brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } }) : gzipSync(raw, { level: 6 });
    cache.set(key, body);
  }
  return { body, encoding };
}

/**
 * Headers that make the page cross-origin isolated (`crossOriginIsolated` true), the condition for
 * SharedArrayBuffer and so for onnxruntime-web's wasm threads: the page opens no cross-origin
 * window (COOP), loads only resources that allow it (COEP), and every file here allows same-origin
 * use (CORP).
 */
export const CROSS_ORIGIN_ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

/** Serves `dir` (a bundle) on 127.0.0.1. Port 0 picks a free port. */
export async function serveBundle(opts: { dir: string; port?: number; log?: (line: string) => void }): Promise<BundleServer> {
  const root = resolve(opts.dir);
  const manifest = readManifest(root);
  const port = opts.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be an integer 0..65535 (0: any free port), got ${opts.port}`);
  const cache = new Map<string, Buffer>();
  const realRoot = realpathSync(root);

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400).end('bad request');
      return;
    }
    if (path.endsWith('/')) path += 'index.html';
    const file = normalize(join(root, path));
    if (!(file === root || file.startsWith(root + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`not found: ${path}`);
      return;
    }
    // A symlink may point anywhere (/etc/hostname): only files whose real path stays in the folder are sent.
    if (!inside(realRoot, file)) {
      res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`forbidden: ${path} leads outside the bundle folder`);
      opts.log?.(`${req.method} ${path} refused: a symlink to outside ${root}`);
      return;
    }
    const { body, encoding } = encodedBody(file, pickEncoding(req.headers['accept-encoding']), cache, realRoot);
    res.writeHead(200, {
      ...CROSS_ORIGIN_ISOLATION,
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': body.length,
      'Cache-Control': 'no-cache',
      Vary: 'Accept-Encoding',
      ...(encoding ? { 'Content-Encoding': encoding } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    opts.log?.(`${req.method} ${path} ${body.length} bytes${encoding ? ` (${encoding})` : ''}`);
  };

  const server = createServer(handle);
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE')
        fail(
          new Error(
            `port ${port} on ${HOST} is in use (another server, or an earlier \`prune-once serve\`); pick another with --port <n>, or --port 0 for any free port`,
          ),
        );
      else if (e.code === 'EACCES') fail(new Error(`not allowed to listen on port ${port} (ports below 1024 need privileges); pick another with --port <n>`));
      else fail(e);
    });
    server.listen(port, HOST, () => ok());
  });
  const actual = (server.address() as { port: number }).port;
  return {
    url: `http://${HOST}:${actual}/`,
    port: actual,
    manifest,
    server,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** What a first visit downloads, in words, from the manifest. */
export function describeDownload(m: BundleManifest): string {
  const ortBr = m.files.filter((f) => f.path.startsWith(ORT_DIR)).reduce((a, f) => a + f.brotliBytes, 0);
  return (
    `a first visit downloads ${formatBytes(m.download.brotliBytes)} with brotli (${formatBytes(m.download.gzipBytes)} gzip, ${formatBytes(m.download.bytes)} uncompressed): ` +
    `the model ${formatBytes(m.model.brotliBytes)} (${formatBytes(m.model.bytes)} raw), onnxruntime-web's wasm ${formatBytes(ortBr)}, the rest ${formatBytes(m.download.brotliBytes - m.model.brotliBytes - ortBr)}`
  );
}
