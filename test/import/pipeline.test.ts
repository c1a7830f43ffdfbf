/**
 * `teacher: { from: <Hugging Face directory> }` in a pipeline: no pre-training, the imported
 * weights as the teacher, the directory's tokenizer, a fine-tuned classifier's head and labels
 * kept; the run exports back to a Hugging Face directory; a `from` checkpoint keeps working.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendInfo } from '../../src/backend/select.js';
import { loadCheckpoint } from '../../src/checkpoint/format.js';
import { STAGE_STATES } from '../../src/checkpoint/state.js';
import { importToCheckpoint } from '../../src/import/convert.js';
import { exportSafetensors } from '../../src/export/hf-source.js';
import { importHfDirectory } from '../../src/import/import-hf.js';
import { createContext } from '../../src/pipeline/context.js';
import { validatePipeline } from '../../src/pipeline/load.js';
import { runPipeline, type RunSummary } from '../../src/pipeline/run.js';
import { bertUncasedVocab } from '../../src/tokenizer/index.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { randomSnapshot, tinyConfig, writeHfDir } from './fixtures.js';

/** bert-base-uncased's first 3,000 entries (specials, characters, common words) and its '##' characters. */
const VOCAB = (() => {
  const all = bertUncasedVocab();
  return [...all.slice(0, 3000), ...all.slice(29612)];
})();

/** pipelines/smoke.yaml's data and fine-tuning settings, with an imported teacher. */
function pipelineYaml(name: string, teacher: string, extra = ''): string {
  return `name: ${name}
seed: 7
${extra}corpus: { source: sotu, seqLen: 32, heldOutFraction: 0.05, evalSequences: 32, maxDocuments: 12 }
task: { kind: spam-assassin, seqLen: 32, maxPerSplit: 64, evalBatchSize: 32 }
stages:
  teacher: ${teacher}
  finetune-teacher:
    train: { steps: 10, batchSize: 8, learningRate: 0.0005, checkpointEvery: 4 }
`;
}

let backend: BackendInfo;
let hfDir = '';
let runDir = '';
let summary: RunSummary;

beforeAll(async () => {
  backend = await useTestBackend();
  const snap = randomSnapshot(tinyConfig({ vocabSize: VOCAB.length, maxPositions: 64, numLabels: 2 }), 41);
  hfDir = writeHfDir(join(tempDir(), 'bert-spam'), snap, { classifier: true, labels: ['ham', 'spam'], vocab: VOCAB });
  const work = tempDir();
  const yaml = join(work, 'hf.yaml');
  writeFileSync(yaml, pipelineYaml('hf-teacher', `{ from: ${JSON.stringify(hfDir)} }`));
  runDir = join(work, 'run');
  summary = await runPipeline({ pipelinePath: yaml, outDir: runDir, quiet: true, backend: backend.name });
}, 300_000);

describe('a Hugging Face teacher in a pipeline', () => {
  it('uses the imported weights as they are (no pre-training) and keeps the labels', () => {
    expect(summary.stages.map((s) => [s.stage, s.status])).toEqual([
      ['teacher', 'ran'],
      ['finetune-teacher', 'ran'],
    ]);
    const imported = importHfDirectory(hfDir).snapshot;
    const teacher = loadCheckpoint(join(runDir, 'teacher', 'model.ckpt'), STAGE_STATES.teacher);
    expect(teacher.config).toEqual(imported.config);
    expect(teacher.state.labels).toEqual(['ham', 'spam']);
    for (const [n, w] of imported.weights) expect(Buffer.from(teacher.weights.get(n)!.data.buffer).equals(Buffer.from(w.data.buffer)), n).toBe(true);
    const result = JSON.parse(readFileSync(join(runDir, 'teacher', 'result.json'), 'utf8'));
    expect(result.details.imported.heads).toEqual({ mlm: 'imported', classifier: 'imported' });
    expect(result.details.curve).toBeUndefined();
    expect(result.metrics.tokens_per_s).toBe(0);
  });

  it('tokenizes with the directory vocabulary (no corpus subset is built)', () => {
    expect(existsSync(join(runDir, 'vocab.txt'))).toBe(false);
    expect(readFileSync(join(runDir, 'teacher', 'vocab.txt'), 'utf8')).toBe(readFileSync(join(hfDir, 'vocab.txt'), 'utf8'));
  });

  it("fine-tunes from the imported classifier head (2 labels = the task's), not a fresh one", () => {
    const teacher = loadCheckpoint(join(runDir, 'teacher', 'model.ckpt'));
    const tuned = loadCheckpoint(join(runDir, 'finetune-teacher', 'model.ckpt'));
    expect(tuned.config.numLabels).toBe(2);
    const a = teacher.weights.get('classifier/kernel')!.data;
    const b = tuned.weights.get('classifier/kernel')!.data;
    // 10 Adam steps at lr 5e-4 move a weight by at most ~5e-3; a fresh head (std 0.02) would differ by ~0.3.
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    expect(maxDiff).toBeGreaterThan(0);
    expect(maxDiff).toBeLessThan(0.02);
    expect(summary.stages[1].result.metrics.dev_accuracy).toBeGreaterThanOrEqual(0);
  });

  it("exports a stage back to a Hugging Face directory with the run's tokenizer, bit-exact", () => {
    const ckpt = join(runDir, 'finetune-teacher', 'model.ckpt');
    const out = join(tempDir(), 'hf-out');
    const res = exportSafetensors(ckpt, out);
    expect(res.warnings).toEqual([]);
    expect(res.tokenizerSource).toBe(join(runDir, 'teacher', 'vocab.txt'));
    const back = importHfDirectory(out);
    const tuned = loadCheckpoint(ckpt);
    expect(back.labels).toEqual(['ham', 'spam']);
    expect(back.tokenizer.vocab).toEqual(VOCAB);
    for (const [n, w] of tuned.weights) expect(Buffer.from(back.snapshot.weights.get(n)!.data.buffer).equals(Buffer.from(w.data.buffer)), n).toBe(true);
  });

  it("reads do_lower_case from the directory for the run's tokenizer", () => {
    const cased = writeHfDir(join(tempDir(), 'cased'), randomSnapshot(tinyConfig({ numLabels: 0 }), 42), { doLowerCase: false });
    const pipeline = validatePipeline({ name: 'x', stages: { teacher: { from: cased } } }, 'test');
    const tok = createContext(tempDir(), pipeline, backend, true).tokenizer();
    expect(tok.describe()).toMatchObject({ lowercase: false, vocabSource: join(cased, 'vocab.txt') });
  });

  it('keeps accepting a prune-once checkpoint as teacher.from (here: one made by `import`)', async () => {
    const work = tempDir();
    const ckpt = join(work, 'teacher.ckpt');
    importToCheckpoint(hfDir, ckpt);
    writeFileSync(join(work, 'vocab.txt'), `${VOCAB.join('\n')}\n`);
    const yaml = join(work, 'ckpt.yaml');
    writeFileSync(
      yaml,
      pipelineYaml('ckpt-teacher', `{ from: ${JSON.stringify(ckpt)} }`, `tokenizer: { vocab: ${JSON.stringify(join(work, 'vocab.txt'))} }\n`),
    );
    const s = await runPipeline({ pipelinePath: yaml, outDir: join(work, 'run'), quiet: true, backend: backend.name, until: 'teacher' });
    expect(s.stages.map((x) => x.stage)).toEqual(['teacher']);
    const teacher = loadCheckpoint(join(work, 'run', 'teacher', 'model.ckpt'));
    const imported = importHfDirectory(hfDir).snapshot;
    for (const [n, w] of imported.weights) expect(Buffer.from(teacher.weights.get(n)!.data.buffer).equals(Buffer.from(w.data.buffer)), n).toBe(true);
  });
});
