/**
 * End to end: the smoke pipeline runs every stage, writes every artifact, and its report's figures
 * are recomputed here from the artifacts alone. A run killed with SIGKILL mid-stage (in prune-distill,
 * then transfer, then qat) and started again ends with the same checkpoints and figures as the
 * uninterrupted run. The run is the one the smoke, browser and transformers.js tests share
 * (test/shared-runs.ts); the tests that change a run work on a copy.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { taskBaselines } from '../../src/baselines/index.js';
import { loadCheckpoint } from '../../src/checkpoint/format.js';
import { STAGE_STATES } from '../../src/checkpoint/state.js';
import { encodeExamples, loadTask } from '../../src/data/index.js';
import { exportModel } from '../../src/pipeline/export-model.js';
import { weightRole } from '../../src/model/weights.js';
import { decodeOnnx, inspectOnnx } from '../../src/onnx/index.js';
import { loadPipeline } from '../../src/pipeline/load.js';
import { runPipeline } from '../../src/pipeline/run.js';
import { ortPredict } from '../../src/pipeline/stages/export.js';
import type { Report } from '../../src/report/schema.js';
import { loadVocabFile, WordPieceTokenizer } from '../../src/tokenizer/index.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { sharedSmokeRun, smokeRunCopy } from '../shared-runs.js';

const PIPELINE = 'pipelines/smoke.yaml';
const STAGES = ['teacher', 'prune-distill', 'finetune-teacher', 'transfer', 'qat', 'export', 'report'];
let runDir = '';
let report: Report;
const TRAINING_STAGES = ['teacher', 'prune-distill', 'finetune-teacher', 'transfer', 'qat'];
const firstMetrics = new Map<string, Record<string, number>>();
/** A stage's result.json metrics, all but speed and memory. */
const readMetrics = (dir: string, stage: string): Record<string, number> =>
  Object.fromEntries(
    Object.entries(JSON.parse(readFileSync(join(dir, stage, 'result.json'), 'utf8')).metrics as Record<string, number>).filter(
      ([k]) => !/tokens_per_s|heap|rss/.test(k),
    ),
  );

/** A checkpoint's weights by name. */
const weightsOf = (path: string): Map<string, Float32Array> => new Map([...loadCheckpoint(path).weights].map(([n, t]) => [n, t.data]));
/** A checkpoint's weights by name -> sha256 of their bytes: equal maps are bit-identical weights. */
const weightHashes = (path: string): Record<string, string> =>
  Object.fromEntries(
    [...weightsOf(path)].map(([n, d]) => [
      n,
      createHash('sha256')
        .update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))
        .digest('hex'),
    ]),
  );

/** Deep equality, numbers within float tolerance (relative 1e-4, absolute 1e-6). */
function expectClose(actual: unknown, expected: unknown, path = ''): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    expect(Math.abs(actual - expected), `${path}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-6 + 1e-4 * Math.abs(expected));
  } else if (expected && typeof expected === 'object') {
    expect(Object.keys(actual as object).sort(), path).toEqual(Object.keys(expected).sort());
    for (const [k, v] of Object.entries(expected)) expectClose((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
  } else {
    expect(actual, path).toEqual(expected);
  }
}

beforeAll(async () => {
  await useTestBackend();
  runDir = await smokeRunCopy();
  report = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8')) as Report;
  // The stages' figures as this run wrote them (a later test reruns prune-distill in runDir).
  for (const s of TRAINING_STAGES) firstMetrics.set(s, readMetrics(runDir, s));
}, 600_000);

describe('smoke pipeline', () => {
  it('writes every stage and file', () => {
    for (const s of STAGES) expect(existsSync(join(runDir, s, 'result.json')), s).toBe(true);
    for (const s of ['teacher', 'prune-distill', 'finetune-teacher', 'transfer', 'qat']) {
      expect(existsSync(join(runDir, s, 'model.ckpt')), s).toBe(true);
      expect(existsSync(join(runDir, s, 'resume.ckpt')), `${s} resume left behind`).toBe(false);
    }
    for (const f of [
      'model.teacher.fp32.onnx',
      'model.fp32.onnx',
      'model.int8.onnx',
      'model.int8-alt-embeddings.onnx',
      'report.json',
      'report.md',
      'vocab.txt',
    ])
      expect(existsSync(join(runDir, f)), f).toBe(true);
  });

  it('keeps the sparsity pattern of prune-distill through transfer and qat', () => {
    const names = loadCheckpoint(join(runDir, 'prune-distill', 'model.ckpt'), STAGE_STATES['prune-distill']).state.prunedWeights;
    expect(names.length).toBe(12);
    const zerosOf = (stage: string) => {
      const c = loadCheckpoint(join(runDir, stage, 'model.ckpt'));
      return names.map((n) => {
        const zeros: number[] = [];
        c.weights.get(n)!.data.forEach((v, i) => v === 0 && zeros.push(i));
        return zeros;
      });
    };
    const pd = zerosOf('prune-distill');
    for (const z of pd) expect(z.length).toBeGreaterThan(0);
    expect(zerosOf('transfer')).toEqual(pd);
    expect(zerosOf('qat')).toEqual(pd);
    const pdWeights = loadCheckpoint(join(runDir, 'prune-distill', 'model.ckpt')).weights;
    const total = names.reduce((a, n) => a + pdWeights.get(n)!.data.length, 0);
    expect(pd.reduce((a, z) => a + z.length, 0) / total).toBeCloseTo(0.9, 2);
  });

  it('reports per-tensor figures that the int8 file really holds', () => {
    const bytes = readFileSync(join(runDir, 'model.int8.onnx'));
    const model = decodeOnnx(bytes);
    expect(model.graph!.sparseInitializer ?? []).toHaveLength(0);
    const inits = new Map(model.graph!.initializer!.map((t) => [t.name!, t]));
    for (const row of report.tensors) {
      expect(row.role).toBe(weightRole(row.name));
      expect(row.params).toBe(row.shape.reduce((a, b) => a * b, 1));
      if (row.int8File.storage === 'mask' || row.int8File.storage === 'gaps') {
        // The values initializer holds the non-zeros (gaps: plus zero fillers), and the parts' bytes are what the row says.
        const values = inits.get(`${row.name}/values`)!.rawData!;
        const index = inits.get(`${row.name}/${row.int8File.storage}`)!.rawData!;
        expect(Array.from(values).filter((v) => v !== 0).length).toBe(row.nonZeros);
        expect(values.length + index.length + 4 * row.shape[1]).toBe(row.int8File.bytes); // + a float scale per channel (zero points 0, omitted)
      }
    }
    expect(report.tensors.filter((t) => t.role === 'encoder-linear').every((t) => t.int8File.storage === 'mask' || t.int8File.storage === 'gaps')).toBe(true);
    const enc = report.tensors.filter((t) => t.role === 'encoder-linear');
    const params = enc.reduce((a, t) => a + t.params, 0);
    const nz = enc.reduce((a, t) => a + t.nonZeros, 0);
    expect(report.totals.encoderLinear).toEqual({ params, nonZeros: nz, sparsity: 1 - nz / params });
    // Each tensor has exactly floor(0.9 n) pruned weights; int8 rounding may zero a few more.
    expect(nz).toBeLessThanOrEqual(enc.reduce((a, t) => a + t.params - Math.floor(0.9 * t.params), 0));
    const ins = inspectOnnx(bytes);
    expect(ins.quantization.perChannel).toBe(15); // 12 encoder kernels + 3 embedding tables (int8 per row by default)
    expect(ins.quantization.activationsQuantized).toBe(true);
  });

  it('has ratios that recompute from the files', () => {
    const enc = report.tensors.filter((t) => t.role === 'encoder-linear');
    const params = enc.reduce((a, t) => a + t.params, 0);
    const nz = enc.reduce((a, t) => a + t.nonZeros, 0);
    const stored = enc.reduce((a, t) => a + t.int8File.bytes, 0);
    expect(report.ratios.encoder_theoretical.value).toBeCloseTo((32 * params) / (8 * nz), 10);
    expect(report.ratios.encoder_stored.value).toBeCloseTo((4 * params) / stored, 10);
    const fp32 = readFileSync(join(runDir, 'model.fp32.onnx'));
    const int8 = readFileSync(join(runDir, 'model.int8.onnx'));
    expect(report.files.fp32.bytes).toBe(statSync(join(runDir, 'model.fp32.onnx')).size);
    expect(report.ratios.file.value).toBeCloseTo(fp32.length / int8.length, 10);
    expect(report.ratios.file_gzip.value).toBeCloseTo(gzipSync(fp32, { level: 9 }).length / gzipSync(int8, { level: 9 }).length, 10);
    for (const r of Object.values(report.ratios)) expect(r.definition.length).toBeGreaterThan(20);
    // The headline ratios: the dense teacher a user starts from over the int8 file a user ships.
    const teacher = readFileSync(join(runDir, 'model.teacher.fp32.onnx'));
    const brotli = (b: Uint8Array) =>
      brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: b.length } }).length;
    expect(report.ratios.teacher_file!.value).toBeCloseTo(teacher.length / int8.length, 10);
    expect(report.ratios.teacher_file_gzip!.value).toBeCloseTo(gzipSync(teacher, { level: 9 }).length / gzipSync(int8, { level: 9 }).length, 10);
    const int8Brotli = brotli(int8);
    expect(report.ratios.teacher_file_brotli!.value).toBeCloseTo(brotli(teacher) / int8Brotli, 10);
    expect(report.files.int8.brotliBytes).toBe(int8Brotli);
    expect(report.ratios.teacher_file!.value).toBeGreaterThan(3);
    // Bytes by part add up to the file, and bits per encoder weight follow from them.
    const parts = report.files.int8.parts!;
    expect(Object.values(parts.bytes).reduce((a, b) => a + b, 0)).toBe(int8.length);
    expect(parts.encoderBitsPerWeight).toBeCloseTo((8 * stored) / params, 10);
    expect(report.ratios.encoder_stored.value).toBeGreaterThan(12);
  });

  it('reports the accuracy ONNX Runtime really gets on the test split', async () => {
    const { pipeline } = loadPipeline(PIPELINE);
    const task = loadTask({ kind: 'spam-assassin', seed: pipeline.seed, maxPerSplit: pipeline.task.maxPerSplit });
    const tok = new WordPieceTokenizer(loadVocabFile(join(runDir, 'vocab.txt')), { lowercase: true, vocabSource: 'run' });
    const test = encodeExamples(tok, task.test, pipeline.task.seqLen);
    const ortAccuracy = async (file: string) => {
      const { predictions } = await ortPredict(join(runDir, file), test, 16, task.labels.length);
      return predictions.reduce((a, p, i) => a + (p === test.examples[i].label ? 1 : 0), 0) / predictions.length;
    };
    expect(report.accuracy.int8Ort).toBeCloseTo(await ortAccuracy('model.int8.onnx'), 10);
    expect(report.accuracy.fp32Ort).toBeCloseTo(await ortAccuracy('model.fp32.onnx'), 10);
    expect(report.accuracy.teacherOrt).toBeCloseTo(await ortAccuracy('model.teacher.fp32.onnx'), 10);
    // The default has int8 tables; the variant with float32 tables is bigger, and its accuracy is what ONNX Runtime gets.
    expect(report.files.int8.embeddings).toBe('int8');
    const alt = report.files.int8AltEmbeddings!;
    expect(alt.embeddings).toBe('float32');
    expect(alt.bytes).toBe(statSync(alt.path).size);
    expect(alt.bytes).toBeGreaterThan(report.files.int8.bytes);
    // onnxruntime-web (wasm) predicted what onnxruntime-node predicted on the whole test split.
    const exported = JSON.parse(readFileSync(join(runDir, 'export', 'result.json'), 'utf8'));
    expect(exported.metrics.int8_web_node_agreement).toBe(1);
    expect(exported.metrics.int8_alt_web_node_agreement).toBe(1);
    expect(alt.ortTestAccuracy).toBeCloseTo(await ortAccuracy('model.int8-alt-embeddings.onnx'), 10);
    expect(report.accuracy.examples).toBe(test.examples.length);
    // The teacher's test accuracy is its file's in ONNX Runtime, measured by export like the students'.
    expect(report.accuracy.teacherOrt).toBeCloseTo(await ortAccuracy('model.teacher.fp32.onnx'), 10);
    expect(report.accuracy.deltaPoints.int8Ort).toBeCloseTo((report.accuracy.int8Ort! - report.accuracy.teacherOrt!) * 100, 10);
    expect(report.latency.map((l) => `${l.file}@${l.batch}`)).toEqual(['fp32@1', 'fp32@4', 'int8@1', 'int8@4']);
  });

  it('records the task baselines that recompute from the task splits and the run vocabulary', () => {
    const { pipeline } = loadPipeline(PIPELINE);
    const task = loadTask({ kind: 'spam-assassin', seed: pipeline.seed, maxPerSplit: pipeline.task.maxPerSplit });
    const tok = new WordPieceTokenizer(loadVocabFile(join(runDir, 'vocab.txt')), { lowercase: true, vocabSource: 'run' });
    const enc = (xs: typeof task.train) => encodeExamples(tok, xs, pipeline.task.seqLen);
    const b = taskBaselines(
      { train: enc(task.train), dev: enc(task.dev), test: enc(task.test) },
      { numLabels: task.labels.length, vocabSize: tok.vocabSize, ignoreIds: [tok.special.cls, tok.special.sep, tok.special.pad] },
    );
    const m = JSON.parse(readFileSync(join(runDir, 'finetune-teacher', 'result.json'), 'utf8')).metrics;
    expect(m.baseline_majority_test_accuracy).toBe(b.majority_test_accuracy);
    expect(m.baseline_majority_dev_accuracy).toBe(b.majority_dev_accuracy);
    expect(m.baseline_naive_bayes_test_accuracy).toBe(b.naive_bayes_test_accuracy);
    expect(m.baseline_naive_bayes_dev_accuracy).toBe(b.naive_bayes_dev_accuracy);
    // The majority class of the capped smoke splits is ham: 45 of 64 test e-mails.
    expect(m.baseline_majority_test_accuracy).toBeCloseTo(45 / 64, 12);
  });

  it('exports the same files again from the run directory or one checkpoint, with the same checks and the metadata a consumer needs', async () => {
    const out = tempDir();
    const files = await exportModel(runDir, 'both', out, { backend: 'wasm' });
    const ckpt = (stage: string) => join(runDir, stage, 'model.ckpt');
    expect(files.map((f) => [f.format, f.source])).toEqual([
      ['teacher', ckpt('finetune-teacher')],
      ['fp32', ckpt('transfer')],
      ['int8', ckpt('qat')],
      ['int8_alt', ckpt('qat')],
    ]);
    for (const f of files) {
      expect(f.check!.ortTfjsAgreement, f.format).toBeGreaterThanOrEqual(0.9);
      if (f.format.startsWith('int8')) expect(f.check!.web!.agreement, f.format).toBe(1);
      const again = inspectOnnx(readFileSync(f.path));
      const inRun = inspectOnnx(readFileSync(join(runDir, f.path.split('/').pop()!)));
      expect(f.bytes).toBe(statSync(f.path).size);
      expect(again.initializers).toEqual(inRun.initializers);
      // The checkpoint alone carries what the run knew: labels, tokenizer, sequence length.
      expect(again.metadata).toEqual({ ...inRun.metadata, source_checkpoint: 'model.ckpt' });
      expect(JSON.parse(again.metadata.tokenizer)).toMatchObject({ kind: 'wordpiece', lowercase: true, vocabSize: 2048 });
      expect(again.metadata.max_sequence_length).toBe('32');
      expect(JSON.parse(again.metadata.labels)).toEqual(['ham', 'spam']);
    }
    const int8 = inspectOnnx(readFileSync(join(out, 'model.int8.onnx')));
    expect(Number(int8.metadata.encoder_sparsity)).toBeCloseTo(report.totals.encoderLinear.sparsity, 6);
    expect(int8.metadata.quantization).toMatch(/^QDQ int8 weights \(per-channel symmetric/);
    await expect(exportModel(join(runDir, 'transfer', 'model.ckpt'), 'int8', out)).rejects.toThrow(
      /has no quantization parameters, so it cannot be exported as int8/,
    );
    await expect(exportModel(join(runDir, 'nowhere'), 'fp32', out)).rejects.toThrow(/nowhere: no such run directory or checkpoint/);
  });

  it('skips every stage on a rerun with the same settings, and reruns from a changed one', async () => {
    const again = await runPipeline({ pipelinePath: PIPELINE, outDir: runDir, quiet: true, backend: 'wasm', until: 'transfer' });
    expect(again.stages.map((s) => s.status)).toEqual(['up to date', 'up to date', 'up to date', 'up to date']);
    const changed = await runPipeline({
      pipelinePath: PIPELINE,
      outDir: runDir,
      quiet: true,
      backend: 'wasm',
      until: 'finetune-teacher',
      sets: ['stages.prune-distill.train.steps=8'],
    });
    expect(changed.stages.map((s) => `${s.stage}:${s.status}`)).toEqual(['teacher:up to date', 'prune-distill:ran', 'finetune-teacher:up to date']);
  });

  it('changes no figure beyond float tolerance with train.recompute: layers in every training stage', async () => {
    // Up to qat: export and report are functions of the checkpoints compared here (their figures
    // are recomputed from the files by the tests above), so running them again would add no check.
    const dir = join(tempDir(), 'recompute');
    const sets = TRAINING_STAGES.map((s) => `stages.${s}.train.recompute=layers`);
    const again = await runPipeline({ pipelinePath: PIPELINE, outDir: dir, quiet: true, backend: 'wasm', sets, until: 'qat' });
    expect(again.stages.map((s) => `${s.stage}:${s.status}`)).toEqual(TRAINING_STAGES.map((s) => `${s}:ran`));
    const shared = (await sharedSmokeRun()).runDir;
    let worstOverall = 0;
    for (const s of TRAINING_STAGES) {
      // The stages' own figures (losses, accuracies, sparsity), all but speed and memory.
      const first = firstMetrics.get(s)!;
      expect(Object.keys(first).length, s).toBeGreaterThan(0);
      expectClose(readMetrics(dir, s), first, s);
      // Every weight of every checkpoint within float tolerance, and every pruned weight still zero.
      const want = weightsOf(join(shared, s, 'model.ckpt'));
      const got = weightsOf(join(dir, s, 'model.ckpt'));
      expect([...got.keys()], s).toEqual([...want.keys()]);
      for (const [name, w] of want) {
        const g = got.get(name)!;
        expect(g.length, `${s} ${name}`).toBe(w.length);
        let zerosLost = 0;
        let worst = 0;
        for (let i = 0; i < w.length; i++) {
          if (w[i] === 0 && g[i] !== 0) zerosLost++;
          worst = Math.max(worst, Math.abs(g[i] - w[i]) / (1e-3 + Math.abs(w[i])));
        }
        expect(zerosLost, `${s} ${name}: pruned weights no longer zero`).toBe(0);
        expect(worst, `${s} ${name}: largest difference, relative to 1e-3 + |weight|`).toBeLessThan(1e-3);
        worstOverall = Math.max(worstOverall, worst);
      }
    }
    process.stdout.write(`recompute: largest weight difference, relative to 1e-3 + |weight|: ${worstOverall.toExponential(2)}\n`);
  }, 600_000);

  it('finishes with the same figures after a SIGKILL in the middle of prune-distill, transfer and qat', async () => {
    // The shared run's teacher and fine-tuned teacher (with the vocabulary) and nothing after them:
    // the three stages killed here and every stage that reads them are computed again.
    const dir = join(tempDir(), 'killed');
    const shared = (await sharedSmokeRun()).runDir;
    for (const f of ['teacher', 'finetune-teacher', 'vocab.txt']) cpSync(join(shared, f), join(dir, f), { recursive: true });
    // Each run is killed without warning right after the stage's first periodic checkpoint, placed
    // deterministically by the PRUNE_ONCE_TEST_FAULT hook (src/util/fault.ts); the next run resumes it.
    for (const stage of ['prune-distill', 'transfer', 'qat']) {
      // Awaited, not spawnSync: a blocked test worker misses vitest's RPC deadline on a busy machine.
      const child = spawn(process.execPath, ['dist/cli/main.js', 'run', PIPELINE, '--out', dir, '--quiet', '--backend', 'wasm'], {
        stdio: 'ignore',
        env: { ...process.env, PRUNE_ONCE_TEST_FAULT: `after-write:${stage}/resume.ckpt:SIGKILL` },
      });
      const signal = await new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, sig) => r(sig)));
      expect(signal, stage).toBe('SIGKILL');
      expect(existsSync(join(dir, stage, 'resume.ckpt')), stage).toBe(true);
      expect(existsSync(join(dir, stage, 'result.json')), stage).toBe(false);
    }
    // Up to qat: export and report are functions of the checkpoints, compared here bit for bit.
    const last = await runPipeline({ pipelinePath: PIPELINE, outDir: dir, quiet: true, backend: 'wasm', until: 'qat' });
    expect(last.stages.map((s) => `${s.stage}:${s.status}`)).toEqual([
      'teacher:up to date',
      'prune-distill:up to date',
      'finetune-teacher:up to date',
      'transfer:up to date',
      'qat:ran',
    ]);
    for (const s of ['prune-distill', 'transfer', 'qat']) {
      expect(existsSync(join(dir, s, 'resume.ckpt')), `${s} resume left behind`).toBe(false);
      expect(readMetrics(dir, s), s).toEqual(readMetrics(shared, s));
      expect(weightHashes(join(dir, s, 'model.ckpt')), s).toEqual(weightHashes(join(shared, s, 'model.ckpt')));
    }
  }, 600_000);
});
