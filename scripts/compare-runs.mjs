#!/usr/bin/env node
/**
 * Compares two run directories of the same pipeline: every report figure that does not depend on
 * time (accuracies, non-zeros, bytes, ratios, per-tensor rows) and every stage's fingerprint and
 * metrics must be identical to the last digit. Times, dates, paths and latencies are left out.
 *
 *   node scripts/compare-runs.mjs <run-before> <run-after>     exit 0 when identical, 1 otherwise
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [before, after] = process.argv.slice(2);
if (!before || !after) {
  process.stderr.write('usage: node scripts/compare-runs.mjs <run-before> <run-after>\n');
  process.exit(2);
}

/** Metrics that measure time or speed, not the model. */
const TIMED = /(^|_)(tokens_per_s|seconds|ms)$/;

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The report without what depends on time, the machine or where the run lives. */
function stableReport(dir) {
  const r = readJson(join(dir, 'report.json'));
  const file = (f) =>
    f && {
      bytes: f.bytes,
      gzipBytes: f.gzipBytes,
      ...(f.embeddings ? { embeddings: f.embeddings, ortTestAccuracy: f.ortTestAccuracy, fileRatio: f.fileRatio } : {}),
    };
  return {
    schema: r.schema,
    version: r.version,
    name: r.run.name,
    seed: r.run.seed,
    backend: r.run.backend,
    stages: r.stages.map((s) => [s.stage, s.fingerprint]),
    tensors: r.tensors,
    totals: r.totals,
    ratios: r.ratios,
    files: { fp32: file(r.files.fp32), int8: file(r.files.int8), int8AltEmbeddings: file(r.files.int8AltEmbeddings) },
    quantization: r.quantization,
    accuracy: r.accuracy,
    latency: r.latency.map((l) => [l.file, l.batch, l.seq, l.runs]),
  };
}

function stableResults(dir) {
  const out = {};
  for (const stage of ['teacher', 'prune-distill', 'finetune-teacher', 'transfer', 'qat', 'export', 'report']) {
    const p = join(dir, stage, 'result.json');
    if (!existsSync(p)) continue;
    const r = readJson(p);
    const metrics = Object.fromEntries(Object.entries(r.metrics).filter(([k]) => !TIMED.test(k)));
    out[stage] = { fingerprint: r.fingerprint, metrics };
  }
  return out;
}

/** Paths where the two values differ ('' for the root). */
function differences(a, b, path = '') {
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || a === null || b === null || typeof a !== 'object') {
    return Object.is(a, b) ? [] : [`${path || '(root)'}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`];
  }
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.flatMap((k) => differences(a[k], b[k], path ? `${path}.${k}` : k));
}

const diffs = [
  ...differences(stableReport(before), stableReport(after)).map((d) => `report.json ${d}`),
  ...differences(stableResults(before), stableResults(after)).map((d) => `result.json ${d}`),
];
const r = stableReport(after);
process.stdout.write(
  `compared ${before} and ${after}: ${r.tensors.length} tensor rows, ${Object.keys(stableResults(after)).length} stage results\n` +
    `  accuracy (test): teacher ${r.accuracy.teacher}, sparse ${r.accuracy.sparseStudent}, int8 tfjs ${r.accuracy.int8Tfjs}, int8 ORT ${r.accuracy.int8Ort}, fp32 ORT ${r.accuracy.fp32Ort}\n` +
    `  encoder Linear: ${r.totals.encoderLinear.params} params, ${r.totals.encoderLinear.nonZeros} non-zero; model ${r.totals.model.nonZeros} non-zero\n` +
    `  bytes: fp32 ${r.files.fp32.bytes}, int8 ${r.files.int8.bytes}, int8-alt ${r.files.int8AltEmbeddings?.bytes}\n`,
);
if (diffs.length) {
  process.stdout.write(`DIFFERENT (${diffs.length}):\n  ${diffs.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write('identical: every figure but times, and every stage fingerprint\n');
