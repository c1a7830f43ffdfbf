/** Stage `report`: measures ONNX Runtime latency of both files, then writes report.json, report.md and report.html. */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { existsSync, readFileSync } from 'node:fs';
import { createSession, measureLatency, precomputeFileSizes } from '../../onnx/index.js';
import { buildReport } from '../../report/build.js';
import { gatherReportView } from '../../report/view.js';
import { writeReportFiles } from '../../report/write.js';
import { REPORT_VERSION, type Report } from '../../report/schema.js';
import { ONNX_FILES, onnxPath, RUN_FILES, runFile, type OnnxFormat } from '../../run/layout.js';
import { writeJsonAtomic } from '../../util/fs.js';
import { TOOL_VERSION } from '../../version.js';
import { DEFAULT_BROTLI_QUALITY } from '../../util/compress.js';
import { intIn } from '../../util/ranges.js';
import { defineStage, type StageOutput, type StageRun } from './types.js';

export const ReportSettings = z.strictObject({
  /** ONNX Runtime latency: batch sizes, timed runs per batch size. */
  latencyBatches: z
    .array(intIn(1, 4096, 'rows per timed run'))
    .min(1)
    .default([1, 32]),
  latencyRuns: intIn(1, 10_000).default(20),
  /**
   * Brotli quality of the files' brotli sizes (and so of teacher_file_brotli). 11, the default, is
   * what a static host's precompressed files use and what the published figures quote; it costs
   * ~3 s per MB, so a dense BERT-Base teacher takes many minutes, where 9 is within a few percent
   * in a tenth of the time. No default in the schema, so pipelines without it keep their fingerprints.
   */
  brotliQuality: intIn(0, 11, 'brotli quality').optional(),
});
export type ReportSettings = z.infer<typeof ReportSettings>;

/** The stages whose results the report reads, in the stage table's order (each may be absent: its figures are then null). */
export const REPORTED = ['teacher', 'prune-distill', 'finetune-teacher', 'transfer', 'qat', 'export'] as const;

async function measureFileLatency(runDir: string, batches: number[], seq: number, runs: number, vocabSize: number): Promise<Report['latency']> {
  const out: Report['latency'] = [];
  for (const file of ['fp32', 'int8'] as const) {
    const session = await createSession(onnxPath(runDir, file));
    for (const batch of batches) {
      const l = await measureLatency(session, { batch, seq, warmup: 3, runs, vocabSize });
      out.push({ file, batch, seq, medianMs: l.medianMs, p90Ms: l.p90Ms, runs: l.runs });
    }
    await session.release();
  }
  return out;
}

export async function runReport(run: StageRun<ReportSettings>): Promise<StageOutput> {
  const { ctx, settings: s } = run;
  const t0 = performance.now();
  const ortVersion = (await import('onnxruntime-node/package.json', { with: { type: 'json' } })).default.version as string;
  // Compress every exported file at once on the thread pool (brotli 11 of a 6 MB file is ~10 s);
  // the report's inspection then reads the sizes from memory.
  const brotliQuality = s.brotliQuality ?? DEFAULT_BROTLI_QUALITY;
  const exported = (Object.keys(ONNX_FILES) as OnnxFormat[]).map((f) => onnxPath(ctx.runDir, f)).filter((p) => existsSync(p));
  await precomputeFileSizes(
    exported.map((p) => readFileSync(p)),
    brotliQuality,
  );
  const latency = await measureFileLatency(ctx.runDir, s.latencyBatches, ctx.pipeline.task.seqLen, s.latencyRuns, ctx.tokenizer().vocabSize);
  const report = buildReport({
    runDir: ctx.runDir,
    stages: REPORTED,
    name: ctx.pipeline.name,
    seed: ctx.pipeline.seed,
    backend: ctx.backend.name,
    versions: { 'prune-once': TOOL_VERSION, tfjs: tf.version_core, 'onnxruntime-node': ortVersion, node: process.version },
    latency,
    brotliQuality,
    extraStages: [{ stage: 'report', seconds: (performance.now() - t0) / 1000, fingerprint: run.fingerprint }],
    dirOf: run.dirOf,
  });
  writeJsonAtomic(runFile(ctx.runDir, 'reportJson'), report);
  // report.md and report.html from the same figures (with the in-browser section when measured).
  const md = await writeReportFiles(ctx.runDir, gatherReportView(report, ctx.runDir, REPORTED));
  if (!ctx.quiet) process.stdout.write(`\n${md}\n`);
  return {
    metrics: {
      encoder_theoretical: report.ratios.encoder_theoretical.value,
      encoder_stored: report.ratios.encoder_stored.value,
      file: report.ratios.file.value,
      file_gzip: report.ratios.file_gzip.value,
    },
    details: { report: RUN_FILES.reportJson },
  };
}

export const reportStage = defineStage({
  name: 'report',
  describe: 'report.json, report.md and report.html: accuracy, per-tensor sparsity and storage, compression ratios, ONNX Runtime latency',
  schema: ReportSettings,
  inputs: REPORTED,
  // The report says what the run has: a missing stage's figures are null, not an error.
  optionalInputs: () => REPORTED,
  data: 'task',
  formatVersion: REPORT_VERSION,
  outputs: () => [RUN_FILES.reportJson, RUN_FILES.reportMd, RUN_FILES.reportHtml],
  run: runReport,
});
