/**
 * report.json, schema "prune-once/report" version 1. Every figure is derived from the run's
 * artifacts (stage result.json files and the exported ONNX files), so a test can recompute it.
 */
import type { WeightRole } from '../model/weights.js';
import type { PartBreakdown } from '../onnx/sizes.js';
import { DEFAULT_BROTLI_QUALITY } from '../util/compress.js';

export const REPORT_SCHEMA = 'prune-once/report';
export const REPORT_VERSION = 2;

export interface Ratio {
  value: number;
  definition: string;
}

/** How a file's embedding tables are stored. */
export type TableType = 'int8' | 'int4' | 'float32';

export interface TensorRow {
  name: string;
  shape: number[];
  role: WeightRole;
  params: number;
  /** Non-zeros of the weight as shipped in model.int8.onnx (int8 values; float where not quantized). */
  nonZeros: number;
  sparsity: number;
  /** How the tensor is stored in model.int8.onnx (mask / gaps / nibbles: compact encodings decoded in-graph; sparse: a COO sparse_initializer). */
  int8File: { dtype: string; storage: 'dense' | 'sparse' | 'mask' | 'gaps' | 'nibbles'; layout?: string; indexType?: string; bytes: number };
  /** Bytes in model.fp32.onnx. */
  fp32Bytes: number;
}

/** A file's sizes (raw, gzip -9, brotli) and its bytes by part. */
export interface FileEntry {
  path: string;
  bytes: number;
  gzipBytes: number;
  brotliBytes?: number;
  /** The brotli quality of brotliBytes (the report stage's brotliQuality); absent in reports made before it was recorded, which used 11. */
  brotliQuality?: number;
  parts?: PartBreakdown;
}

/** The brotli quality of a report's sizes (reports made before it was recorded used 11). */
export const reportBrotliQuality = (r: Report): number => r.files.int8.brotliQuality ?? DEFAULT_BROTLI_QUALITY;

/** Where the model was pruned, as the report and tasks.md say it. */
export const PRUNING_PATHS = {
  upstream: 'pruned upstream, transferred',
  downstream: 'pruned downstream during fine-tuning',
} as const;

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
  stages: Array<{
    stage: string;
    seconds: number;
    fingerprint: string;
    memory?: { wasmHeapPeakMb?: number; workerWasmHeapPeakMb?: number; rssPeakMb: number };
  }>;
  /**
   * How the model was made: pruned upstream (prune-distill, then a pattern-locked transfer) or during
   * task fine-tuning (transfer.pruning); the dense teacher fine-tuned here or taken as is. Absent in
   * reports written before it existed.
   */
  path?: { pruning: keyof typeof PRUNING_PATHS; description: string; teacher: 'fine-tuned' | 'taken as is' };
  tensors: TensorRow[];
  totals: {
    encoderLinear: { params: number; nonZeros: number; sparsity: number };
    model: { params: number; nonZeros: number; sparsity: number };
  };
  /** teacher_file*: the dense teacher's file over the int8 file (present when the export wrote the teacher). */
  ratios: {
    encoder_theoretical: Ratio;
    encoder_stored: Ratio;
    file: Ratio;
    file_gzip: Ratio;
    teacher_file?: Ratio;
    teacher_file_gzip?: Ratio;
    teacher_file_brotli?: Ratio;
  };
  files: {
    /** model.teacher.fp32.onnx: the dense fine-tuned teacher, baseline of the teacher_file ratios. */
    teacher?: FileEntry;
    fp32: FileEntry;
    /** embeddings: the tables as stored (int4: packed two a byte). */
    int8: FileEntry & { embeddings?: TableType };
    /** The int8 model with the other embedding choice, when the export wrote it. */
    int8AltEmbeddings?: FileEntry & { embeddings: TableType; ortTestAccuracy: number | null; fileRatio: number };
  };
  quantization: Record<string, string>;
  accuracy: {
    task: string;
    split: 'test';
    examples: number;
    /**
     * Test accuracy is measured once, by export, in ONNX Runtime on the files users ship: the dense
     * teacher's file, the sparse fp32 student's and the int8 file.
     */
    teacherOrt: number | null;
    fp32Ort: number | null;
    int8Ort: number | null;
    /** fp32Ort and int8Ort minus teacherOrt, in points (x100). */
    deltaPoints: Record<string, number | null>;
    /**
     * 95% group-bootstrap intervals [lo, hi] of the ONNX Runtime accuracies (int8Ort, fp32Ort,
     * teacherOrt, int8AltOrt), recomputable from export/test-predictions.json; absent for runs
     * exported before the file existed.
     */
    intervals?: Record<string, [number, number]>;
    /** int8Ort - teacherOrt in points with its paired 95% interval (the same resamples for both). */
    int8MinusTeacherOrt?: { points: number; interval: [number, number] };
    mlm: { teacher: number | null; sparseStudent: number | null; unigramBaseline: number | null };
  };
  latency: Array<{ file: 'fp32' | 'int8'; batch: number; seq: number; medianMs: number; p90Ms: number; runs: number }>;
}

/** Fields every report of this version has (dotted paths), checked before a report is shown. */
const REQUIRED_FIELDS: Array<[string, 'string' | 'number' | 'object' | 'array']> = [
  ['run.name', 'string'],
  ['run.dir', 'string'],
  ['run.seed', 'number'],
  ['run.backend', 'string'],
  ['run.versions', 'object'],
  ['run.createdAt', 'string'],
  ['run.machine', 'object'],
  ['stages', 'array'],
  ['tensors', 'array'],
  ['totals.encoderLinear', 'object'],
  ['totals.model', 'object'],
  ['ratios.encoder_theoretical.value', 'number'],
  ['ratios.encoder_stored.value', 'number'],
  ['ratios.file.value', 'number'],
  ['ratios.file_gzip.value', 'number'],
  ['files.fp32', 'object'],
  ['files.int8', 'object'],
  ['quantization', 'object'],
  ['accuracy', 'object'],
  ['accuracy.mlm', 'object'],
  ['accuracy.deltaPoints', 'object'],
  ['latency', 'array'],
];

function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/**
 * Checks a parsed report.json (`path` for messages): the schema, the version this build reads, and
 * every field the renderers use. Throws an error naming the file, the fields and the fix.
 */
export function validateReport(raw: unknown, path: string): Report {
  const obj = raw as Record<string, unknown> | null;
  if (kindOf(obj) !== 'object' || obj!.schema !== REPORT_SCHEMA) throw new Error(`${path}: not a prune-once report (schema field is not '${REPORT_SCHEMA}')`);
  if (obj!.version !== REPORT_VERSION) {
    throw new Error(
      `${path}: report version ${JSON.stringify(obj!.version)} is not supported (this prune-once ${'reads'} version ${REPORT_VERSION}); read it with the prune-once that wrote it, or make a new one: delete report.json and rerun \`prune-once run <pipeline>\` (it redoes the report stage)`,
    );
  }
  const problems: string[] = [];
  for (const [field, kind] of REQUIRED_FIELDS) {
    let v: unknown = obj;
    for (const k of field.split('.')) v = kindOf(v) === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    if (kindOf(v) !== kind)
      problems.push(`${field} (${v === undefined ? 'missing' : `a ${kindOf(v)}, not a${kind === 'object' || kind === 'array' ? 'n' : ''} ${kind}`})`);
  }
  if (problems.length) {
    throw new Error(
      `${path}: incomplete report: ${problems.join(', ')}; it was cut short or edited by hand: rerun the report stage with \`prune-once run <pipeline>\` on this run directory (a report.json that fails its recorded checksum is redone)`,
    );
  }
  return raw as Report;
}
