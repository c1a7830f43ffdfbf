/**
 * report.json, schema "prune-once/report" version 1. Every figure is derived from the run's
 * artifacts (stage result.json files and the exported ONNX files), so a test can recompute it.
 */
import type { WeightRole } from '../model/config.js';

export const REPORT_SCHEMA = 'prune-once/report';
export const REPORT_VERSION = 1;

export interface Ratio {
  value: number;
  definition: string;
}

export interface TensorRow {
  name: string;
  shape: number[];
  role: WeightRole;
  params: number;
  /** Non-zeros of the weight as shipped in model.int8.onnx (int8 values; float where not quantized). */
  nonZeros: number;
  sparsity: number;
  /** How the tensor is stored in model.int8.onnx. */
  int8File: { dtype: string; storage: 'dense' | 'sparse'; layout?: string; indexType?: string; bytes: number };
  /** Bytes in model.fp32.onnx. */
  fp32Bytes: number;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  version: typeof REPORT_VERSION;
  run: {
    name: string;
    dir: string;
    seed: number;
    backend: string;
    versions: Record<string, string>;
    createdAt: string;
    machine: { cpus: number; cpuModel: string; memoryGiB: number; platform: string };
  };
  /** Per stage; memory (MB, training stages only) from its result.json metrics: peak wasm heap of the main thread and of the largest gradient worker, peak RSS. */
  stages: Array<{ stage: string; seconds: number; fingerprint: string; memory?: { wasmHeapPeakMb?: number; workerWasmHeapPeakMb?: number; rssPeakMb: number } }>;
  tensors: TensorRow[];
  totals: {
    encoderLinear: { params: number; nonZeros: number; sparsity: number };
    model: { params: number; nonZeros: number; sparsity: number };
  };
  ratios: { encoder_theoretical: Ratio; encoder_stored: Ratio; file: Ratio; file_gzip: Ratio };
  files: Record<'fp32' | 'int8', { path: string; bytes: number; gzipBytes: number }> & {
    /** The int8 model with the other embedding choice, when the export wrote it. */
    int8AltEmbeddings?: { path: string; bytes: number; gzipBytes: number; embeddings: 'int8' | 'float32'; ortTestAccuracy: number | null; fileRatio: number };
  };
  quantization: Record<string, string>;
  accuracy: {
    task: string;
    split: 'test';
    examples: number;
    teacher: number | null;
    sparseStudent: number | null;
    int8Tfjs: number | null;
    int8Ort: number | null;
    fp32Ort: number | null;
    /** Each model's accuracy minus the dense teacher's, in points (x100). */
    deltaPoints: Record<string, number | null>;
    mlm: { teacher: number | null; sparseStudent: number | null; unigramBaseline: number | null };
  };
  latency: Array<{ file: 'fp32' | 'int8'; batch: number; seq: number; medianMs: number; p90Ms: number; runs: number }>;
}
