/**
 * manifest.json of a web bundle: what the page needs to run the model (labels, sequence length,
 * vocabulary) and what a person wants to know about it (sizes, sparsity, versions). Shared by the
 * bundler (Node) and the page (browser), so it imports nothing.
 */

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_SCHEMA = 'prune-once/web-bundle';
export const MANIFEST_VERSION = 1;
/** Where the bundle puts onnxruntime-web's wasm files, relative to index.html. */
export const ORT_DIR = 'ort/';
/** The run's int8 model, under the same name in the run and in the bundle. */
export const MODEL_FILE = 'model.int8.onnx';

/** Sizes of one file as served: raw, and the precompressed `.gz` / `.br` siblings the bundle writes. */
export interface FileSizes {
  path: string;
  bytes: number;
  gzipBytes: number;
  brotliBytes: number;
}

export interface BundleManifest {
  schema: typeof MANIFEST_SCHEMA;
  version: typeof MANIFEST_VERSION;
  tool: { name: 'prune-once'; version: string };
  run: { name: string; createdAt: string };
  model: FileSizes & { format: string; quantization: string; encoderSparsity: number; params: number | null; nonZeros: number | null };
  vocab: FileSizes & { entries: number; lowercase: boolean; source: string };
  labels: string[];
  maxSequenceLength: number;
  runtime: { name: 'onnxruntime-web'; version: string; backend: 'wasm'; files: string[] };
  /** Every file the page loads (index.html, app.js, wasm, model, vocabulary; not this manifest). */
  files: FileSizes[];
  /** Sums over `files`: what a first visit downloads, per content encoding. */
  download: { bytes: number; gzipBytes: number; brotliBytes: number; brotliQuality: number };
  /** The run's report, copied beside the page, when the run has one. */
  report: { html?: string; markdown?: string; json?: string };
}

/** A readable byte count: 1,234,567 -> "1.23 MB" (decimal units, as browsers' network panels show). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(2)} MB`;
}
