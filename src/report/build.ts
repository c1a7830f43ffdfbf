/**
 * Builds the report of a run from its artifacts only: the stages' result.json files, and the
 * exported ONNX files read back with the inspector (so sizes, non-zeros and storage are what the
 * files really hold, not what the exporter meant to write). Sizes are what a user pays: raw,
 * gzip -9 and brotli (quality 11 unless the report stage says otherwise) bytes of each file, with the dense fine-tuned teacher's file as
 * the baseline of the headline ratios.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { type BertConfig } from '../model/config.js';
import { sparsityTotals, zeroFraction } from '../model/sparsity.js';
import { EMB, weightRole, weightShapes } from '../model/weights.js';
import { inspectOnnx, type InitializerInfo, type OnnxInspection } from '../onnx/index.js';
import { onnxPath, ONNX_FILES, stageDir } from '../run/layout.js';
import { readResult, type StageResult } from '../run/result.js';
import { DEFAULT_BROTLI_QUALITY } from '../util/compress.js';
import { PRUNING_PATHS, REPORT_SCHEMA, REPORT_VERSION, type Report, type TableType, type TensorRow } from './schema.js';

const { teacher: TEACHER_FILE, fp32: FP32_FILE, int8: INT8_FILE } = ONNX_FILES;

export interface ReportInputs {
  runDir: string;
  /** The stages whose result.json the report reads (the report stage's inputs in the stage table). */
  stages: readonly string[];
  name: string;
  seed: number;
  backend: string;
  versions: Record<string, string>;
  latency: Report['latency'];
  /** Brotli quality of the files' brotli sizes (default 11). */
  brotliQuality?: number;
  /** Seconds of the report stage itself (not yet in a result.json when the report is built). */
  extraStages?: Report['stages'];
  /** Where each stage's directory is (default: in runDir; a task of a multi-task run reads the shared stages from the run). */
  dirOf?: (stage: string) => string;
}

function readOnnx(
  path: string,
  brotliQuality: number,
): { inspection: OnnxInspection; bytes: number; gzipBytes: number; brotliBytes: number; brotliQuality: number } {
  if (!existsSync(path)) throw new Error(`${path} not found: the report needs the export stage's files (run the export stage first)`);
  const data = readFileSync(path);
  const inspection = inspectOnnx(data, { source: path, sizes: true, brotliQuality });
  return { inspection, bytes: data.length, gzipBytes: inspection.sizes!.gzip, brotliBytes: inspection.sizes!.brotli, brotliQuality };
}

/** A file's entry in the report: sizes and where its bytes go. */
function fileEntry(path: string, f: ReturnType<typeof readOnnx>): Report['files']['int8'] {
  return { path, bytes: f.bytes, gzipBytes: f.gzipBytes, brotliBytes: f.brotliBytes, brotliQuality: f.brotliQuality, parts: f.inspection.parts };
}

/**
 * The model's weights among a file's initializers (not scales, zero points or graph constants),
 * found by the weight names of the model config the exporter wrote into the metadata.
 */
function weightsOf(ins: OnnxInspection): Map<string, InitializerInfo> {
  const raw = ins.metadata.model_config;
  if (!raw) throw new Error(`${ins.source}: no model_config in the metadata; was it exported by prune-once?`);
  const names = weightShapes(JSON.parse(raw) as BertConfig, { mlmHead: false }).map(([n]) => n);
  const byName = new Map(ins.initializers.filter((i) => i.graph === 'main').map((i) => [i.name, i]));
  return new Map(
    names.map((n) => {
      const i = byName.get(n);
      if (!i) throw new Error(`${ins.source}: the weight '${n}' is missing`);
      return [n, i];
    }),
  );
}

/** A training stage's memory figures, as its result.json records them (memory-watch.ts). */
function stageMemory(r: StageResult): { memory?: NonNullable<Report['stages'][number]['memory']> } {
  const k = r.metrics;
  if (k.rss_peak_mb === undefined) return {};
  return {
    memory: {
      ...(k.wasm_heap_peak_mb !== undefined ? { wasmHeapPeakMb: k.wasm_heap_peak_mb } : {}),
      ...(k.worker_wasm_heap_peak_mb !== undefined ? { workerWasmHeapPeakMb: k.worker_wasm_heap_peak_mb } : {}),
      rssPeakMb: k.rss_peak_mb,
    },
  };
}

const ratio = (num: number, den: number) => (den > 0 ? num / den : NaN);

function altFile(runDir: string, fp32Bytes: number, accuracy: number | null, brotliQuality: number): Pick<Report['files'], 'int8AltEmbeddings'> {
  const path = onnxPath(runDir, 'int8_alt');
  if (!existsSync(path)) return {};
  const alt = readOnnx(path, brotliQuality);
  return {
    int8AltEmbeddings: { ...fileEntry(path, alt), embeddings: tablesOf(alt.inspection), ortTestAccuracy: accuracy, fileRatio: ratio(fp32Bytes, alt.bytes) },
  };
}

/** The word table's storage: float32, or int8 behind DequantizeLinear, int4 when nibble-packed. */
function tablesOf(ins: OnnxInspection): TableType {
  if (!ins.quantization.weights.some((w) => w.tensor === EMB.word)) return 'float32';
  return ins.initializers.find((t) => t.graph === 'main' && t.name === EMB.word)?.compact?.encoding === 'nibbles' ? 'int4' : 'int8';
}

/** The dense teacher's file (absent from runs exported before the export stage wrote it). */
function teacherFile(runDir: string, brotliQuality: number): ReturnType<typeof readOnnx> | null {
  const path = onnxPath(runDir, 'teacher');
  return existsSync(path) ? readOnnx(path, brotliQuality) : null;
}

/** The path of the run's model, from what its transfer and finetune-teacher stages recorded. */
function modelPath(results: ReadonlyMap<string, StageResult>): Pick<Report, 'path'> {
  const transfer = results.get('transfer');
  if (!transfer) return {};
  // Transfer results from before downstream pruning existed are all upstream.
  const pruning = transfer.details.pruning === 'downstream' ? 'downstream' : 'upstream';
  const teacher = results.get('finetune-teacher')?.details.teacher === 'taken as is' ? 'taken as is' : 'fine-tuned';
  return { path: { pruning, description: PRUNING_PATHS[pruning], teacher } };
}

export function buildReport(inp: ReportInputs): Report {
  const results = new Map<string, StageResult>();
  for (const s of inp.stages) {
    const r = readResult(inp.dirOf ? inp.dirOf(s) : stageDir(inp.runDir, s));
    if (r) results.set(s, r);
  }
  const m = (stage: string, key: string): number | null => results.get(stage)?.metrics[key] ?? null;
  const quality = inp.brotliQuality ?? DEFAULT_BROTLI_QUALITY;
  const fp32 = readOnnx(onnxPath(inp.runDir, 'fp32'), quality);
  const int8 = readOnnx(onnxPath(inp.runDir, 'int8'), quality);
  const teacher = teacherFile(inp.runDir, quality);
  const fpWeights = weightsOf(fp32.inspection);
  const qWeights = weightsOf(int8.inspection);
  // Scale and zero-point initializers of each quantized weight (named <weight>/scale, <weight>/zero_point).
  const paramBytes = (name: string) =>
    int8.inspection.initializers.filter((i) => i.name === `${name}/scale` || i.name === `${name}/zero_point`).reduce((a, i) => a + i.bytes, 0);

  const tensors: TensorRow[] = [];
  for (const [name, f] of fpWeights) {
    const q = qWeights.get(name);
    if (!q) throw new Error(`${INT8_FILE} lacks the weight '${name}' that ${FP32_FILE} has`);
    const nonZeros = q.nonZeros ?? 0;
    tensors.push({
      name,
      shape: f.shape,
      role: weightRole(name),
      params: f.numel,
      nonZeros,
      sparsity: zeroFraction(f.numel, nonZeros),
      int8File: {
        dtype: q.dtype,
        storage: q.compact ? q.compact.encoding : q.kind === 'sparse' ? 'sparse' : 'dense',
        ...(q.sparse ? { layout: q.sparse.layout, indexType: q.sparse.indexDtype } : {}),
        bytes: q.bytes + paramBytes(name),
      },
      fp32Bytes: f.bytes,
    });
  }
  const enc = tensors.filter((t) => t.role === 'encoder-linear');
  const encoderLinear = sparsityTotals(enc);
  const encStored = enc.reduce((a, t) => a + t.int8File.bytes, 0);

  const acc = {
    teacherOrt: m('export', 'teacher_fp32_ort_test_accuracy'),
    fp32Ort: m('export', 'fp32_ort_test_accuracy'),
    int8Ort: m('export', 'int8_ort_test_accuracy'),
  };
  // The export stage's 95% intervals (metrics <prefix>_ort_test_accuracy_lo/_hi), by accuracy key.
  const intervals: Record<string, [number, number]> = {};
  for (const [key, prefix] of Object.entries({ int8Ort: 'int8', fp32Ort: 'fp32', teacherOrt: 'teacher_fp32', int8AltOrt: 'int8_alt' })) {
    const [lo, hi] = [m('export', `${prefix}_ort_test_accuracy_lo`), m('export', `${prefix}_ort_test_accuracy_hi`)];
    if (lo !== null && hi !== null) intervals[key] = [lo, hi];
  }
  const [diffLo, diffHi] = [m('export', 'int8_minus_teacher_lo'), m('export', 'int8_minus_teacher_hi')];
  const delta = (v: number | null) => (v === null || acc.teacherOrt === null ? null : (v - acc.teacherOrt) * 100);
  const exportDetails = results.get('export')?.details ?? {};
  const qatDetails = (results.get('qat')?.details.scheme as Record<string, string> | undefined) ?? {};
  const cpu = cpus();

  return {
    schema: REPORT_SCHEMA,
    version: REPORT_VERSION,
    run: {
      name: inp.name,
      dir: inp.runDir,
      seed: inp.seed,
      backend: inp.backend,
      versions: inp.versions,
      createdAt: new Date().toISOString(),
      machine: {
        cpus: cpu.length,
        cpuModel: cpu[0]?.model ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        platform: `${process.platform}-${process.arch}`,
      },
    },
    stages: [
      ...[...results.values()].map((r) => ({ stage: r.stage, seconds: r.seconds, fingerprint: r.fingerprint, ...stageMemory(r) })),
      ...(inp.extraStages ?? []),
    ],
    ...modelPath(results),
    tensors,
    totals: {
      encoderLinear,
      model: sparsityTotals(tensors),
    },
    ratios: {
      encoder_theoretical: {
        value: ratio(32 * encoderLinear.params, 8 * encoderLinear.nonZeros),
        definition: 'paper-style: encoder Linear weights as dense fp32 (32 bits x params) over their non-zeros at 8 bits, ignoring index storage',
      },
      encoder_stored: {
        value: ratio(4 * encoderLinear.params, encStored),
        definition: `fp32 bytes of the encoder Linear weights over the bytes they take in ${INT8_FILE}: int8 values, masks, gaps or sparse indices, and their scale/zero-point initializers`,
      },
      ...(teacher
        ? {
            teacher_file: {
              value: ratio(teacher.bytes, int8.bytes),
              definition: `${TEACHER_FILE} (the dense fine-tuned teacher, what the user started from) bytes over ${INT8_FILE} bytes`,
            },
            teacher_file_gzip: { value: ratio(teacher.gzipBytes, int8.gzipBytes), definition: 'the same after gzip -9 of each file' },
            teacher_file_brotli: {
              value: ratio(teacher.brotliBytes, int8.brotliBytes),
              definition: `the same after brotli (node:zlib, quality ${quality}) of each file`,
            },
          }
        : {}),
      file: { value: ratio(fp32.bytes, int8.bytes), definition: `${FP32_FILE} (the sparse student in dense fp32 storage) bytes over ${INT8_FILE} bytes` },
      file_gzip: { value: ratio(fp32.gzipBytes, int8.gzipBytes), definition: `the same after gzip -9 of each file` },
    },
    files: {
      ...(teacher ? { teacher: fileEntry(onnxPath(inp.runDir, 'teacher'), teacher) } : {}),
      fp32: fileEntry(onnxPath(inp.runDir, 'fp32'), fp32),
      int8: { ...fileEntry(onnxPath(inp.runDir, 'int8'), int8), embeddings: tablesOf(int8.inspection) },
      ...altFile(inp.runDir, fp32.bytes, m('export', 'int8_alt_ort_test_accuracy'), quality),
    },
    quantization: {
      format: int8.inspection.quantization.format,
      ...qatDetails,
      perChannelWeights: String(int8.inspection.quantization.perChannel),
      perTensorWeights: String(int8.inspection.quantization.perTensor),
      activationsQuantized: String(int8.inspection.quantization.activationsQuantized),
    },
    accuracy: {
      task: String((results.get('finetune-teacher')?.details.task as string | undefined)?.split('\n')[0] ?? 'task'),
      split: 'test',
      examples: Number((exportDetails.testExamples as number | undefined) ?? m('export', 'test_examples') ?? NaN),
      ...acc,
      deltaPoints: {
        fp32Ort: delta(acc.fp32Ort),
        int8Ort: delta(acc.int8Ort),
      },
      ...(Object.keys(intervals).length ? { intervals } : {}),
      ...(diffLo !== null && diffHi !== null && acc.int8Ort !== null && acc.teacherOrt !== null
        ? { int8MinusTeacherOrt: { points: (acc.int8Ort - acc.teacherOrt) * 100, interval: [diffLo * 100, diffHi * 100] as [number, number] } }
        : {}),
      mlm: { teacher: m('teacher', 'mlm_accuracy'), sparseStudent: m('prune-distill', 'mlm_accuracy'), unigramBaseline: m('teacher', 'unigram_accuracy') },
    },
    latency: inp.latency,
  };
}
