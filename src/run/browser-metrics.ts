/**
 * `<run>/web/browser-metrics.json`: what the int8 model does in a real browser (Chromium, the
 * onnxruntime-web wasm backend), beside onnxruntime-node on the same inputs. Written by
 * `prune-once bundle --measure` (and the browser test), shown by report.html and report.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256File } from '../util/fs.js';

export const BROWSER_METRICS_FILE = join('web', 'browser-metrics.json');
export const BROWSER_METRICS_SCHEMA = 'prune-once/browser-metrics';

export interface BrowserMetrics {
  schema: typeof BROWSER_METRICS_SCHEMA;
  version: 1;
  measuredAt: string;
  /** The model measured; the figures are shown only while the run's model.int8.onnx is this file. */
  model: { file: string; bytes: number; sha256: string };
  browser: { name: string; version: string };
  runtime: { name: 'onnxruntime-web'; version: string; backend: 'wasm'; threads: number };
  /** What a first visit downloads (from the bundle's manifest), and what this visit transferred. */
  download: {
    brotliBytes: number;
    gzipBytes: number;
    rawBytes: number;
    modelBrotliBytes: number;
    /** Sum of the Resource Timing transfer sizes of this visit (encoded bodies plus headers). */
    transferredBytes: number;
    /** Content encodings the server sent, per file. */
    encodings: Record<string, string>;
  };
  /** From navigation start to the first prediction on the page. */
  timeToFirstPredictionMs: number;
  sessionCreateMs: number;
  /** One example at a time (batch 1, no padding), tokenization included. */
  latency: { browserMedianMs: number; browserP90Ms: number; ortNodeMedianMs: number; ortNodeP90Ms: number; ortNodeVersion: string };
  accuracy: {
    split: 'test';
    examples: number;
    browser: number;
    ortNode: number;
    /** Share of examples where the browser and onnxruntime-node predict the same label. */
    agreement: number;
    maxLogitDiff: number;
    /** Share of examples whose token ids in the page equal the pipeline's encoding. */
    sameTokenIds: number;
  };
}

/** The run's browser figures if measured on its current int8 model; null otherwise (with why). */
export function readBrowserMetrics(runDir: string, int8Path: string): { metrics: BrowserMetrics | null; note?: string } {
  const path = join(runDir, BROWSER_METRICS_FILE);
  if (!existsSync(path)) return { metrics: null };
  let m: BrowserMetrics;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as BrowserMetrics;
  } catch (e) {
    return { metrics: null, note: `${path} is not valid JSON (${(e as Error).message}); rerun \`prune-once bundle <run> --measure\`` };
  }
  if (m?.schema !== BROWSER_METRICS_SCHEMA) return { metrics: null, note: `${path} is not a browser-metrics file` };
  if (!existsSync(int8Path) || m.model.sha256 !== sha256File(int8Path)) {
    return { metrics: null, note: `${path} was measured on another model.int8.onnx; rerun \`prune-once bundle <run> --measure\`` };
  }
  return { metrics: m };
}
