/** Stage `report`: measures ONNX Runtime latency of both files, then writes report.json and report.md. */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createSession, measureLatency } from '../onnx/index.js';
import type { StageOutput, StageRun } from '../pipeline/stages/types.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { TOOL_VERSION } from '../version.js';
import { buildReport, FP32_FILE, INT8_FILE } from './build.js';
import { writeHtmlReport } from './html.js';
import { renderMarkdown } from './markdown.js';
import type { Report } from './schema.js';

export async function measureFileLatency(runDir: string, batches: number[], seq: number, runs: number, vocabSize: number): Promise<Report['latency']> {
  const out: Report['latency'] = [];
  for (const file of ['fp32', 'int8'] as const) {
    const session = await createSession(join(runDir, file === 'fp32' ? FP32_FILE : INT8_FILE));
    for (const batch of batches) {
      const l = await measureLatency(session, { batch, seq, warmup: 3, runs, vocabSize });
      out.push({ file, batch, seq, medianMs: l.medianMs, p90Ms: l.p90Ms, runs: l.runs });
    }
    await session.release();
  }
  return out;
}

export async function runReport(run: StageRun<'report'>): Promise<StageOutput> {
  const { ctx, settings: s } = run;
  const t0 = performance.now();
  const ortVersion = (await import('onnxruntime-node/package.json', { with: { type: 'json' } })).default.version as string;
  const latency = await measureFileLatency(ctx.runDir, s.latencyBatches, ctx.pipeline.task.seqLen, s.latencyRuns, ctx.tokenizer().vocabSize);
  const report = buildReport({
    runDir: ctx.runDir,
    name: ctx.pipeline.name,
    seed: ctx.pipeline.seed,
    backend: ctx.backend.name,
    versions: { 'prune-once': TOOL_VERSION, tfjs: tf.version_core, 'onnxruntime-node': ortVersion, node: process.version },
    latency,
    extraStages: [{ stage: 'report', seconds: (performance.now() - t0) / 1000, fingerprint: run.fingerprint }],
  });
  writeJsonAtomic(join(ctx.runDir, 'report.json'), report);
  const md = renderMarkdown(report);
  writeFileAtomic(join(ctx.runDir, 'report.md'), md);
  await writeHtmlReport(ctx.runDir); // report.html (charts), and the in-browser section of report.md when measured
  if (!ctx.quiet) process.stdout.write(`\n${md}\n`);
  return {
    metrics: {
      encoder_theoretical: report.ratios.encoder_theoretical.value,
      encoder_stored: report.ratios.encoder_stored.value,
      file: report.ratios.file.value,
      file_gzip: report.ratios.file_gzip.value,
    },
    details: { report: 'report.json' },
  };
}
