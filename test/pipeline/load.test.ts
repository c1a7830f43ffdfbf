import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../src/pipeline/load.js';
import { planStages } from '../../src/pipeline/run.js';
import { qatHookSettings } from '../../src/pipeline/stages/qat.js';
import { INT4_EMBEDDINGS } from '../../src/quant/quantize.js';
import { tempDir } from '../helpers.js';

function write(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('pipeline files', () => {
  it('loads the shipped pipelines with their presets', () => {
    const files = readdirSync('pipelines').filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(expect.arrayContaining(['prune-once.yaml', 'teacher.yaml', 'smoke.yaml']));
    for (const f of files) {
      const { pipeline } = loadPipeline(join('pipelines', f));
      expect(pipeline.stages.teacher).toBeDefined();
    }
    const { pipeline } = loadPipeline('pipelines/prune-once.yaml');
    // The main job starts from the shipped teacher and transfers to three tasks.
    expect(pipeline.stages.teacher!.from).toBe('models/bert-tiny-sotu');
    expect(pipeline.stages.teacher!.train).toBeUndefined();
    expect(Object.keys(pipeline.tasks!)).toEqual(['spam', 'sotu-era', 'sotu-next']);
    expect(pipeline.stages.qat!.quantization.embeddingBits).toBe(4);
    expect(loadPipeline('pipelines/teacher.yaml').pipeline.stages.teacher!.train!.steps).toBe(4000);
    expect(pipeline.stages['prune-distill']!.pruning.schedule).toEqual({
      kind: 'cubic',
      initialSparsity: 0,
      finalSparsity: 0.9,
      beginFraction: 0,
      endFraction: 0.5,
      frequency: 10,
    });
    expect(pipeline.corpus.source).toBe('sotu');
  });

  it('applies --set overrides, parsed as YAML scalars', () => {
    const { pipeline } = loadPipeline('pipelines/prune-once.yaml', ['stages.prune-distill.train.steps=7', 'seed=3', 'stages.export.formats=[int8]']);
    expect(pipeline.stages['prune-distill']!.train!.steps).toBe(7);
    expect(pipeline.seed).toBe(3);
    expect(pipeline.stages.export!.formats).toEqual(['int8']);
  });

  it('names the file, the field, what was found and what is allowed', () => {
    const dir = tempDir();
    const bad = write(
      dir,
      'bad.yaml',
      'name: x\nstages:\n  teacher:\n    model: { preset: bert-huge }\n    train: { steps: -3, learningRate: 0.1, stepz: 1 }\n',
    );
    let msg = '';
    try {
      loadPipeline(bad);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain(bad);
    expect(msg).toMatch(/stages\.teacher\.model\.preset: unknown preset; allowed: bert-tiny, .*L2-H128.*; found "bert-huge"/);
    expect(msg).toMatch(/stages\.teacher\.train\.steps: .*; found -3/);
    expect(msg).toMatch(/stages\.teacher\.train: unknown field 'stepz'; allowed: steps, batchSize, learningRate/);
  });

  it('rejects unknown stages, bad YAML, missing presets and bad --set', () => {
    const dir = tempDir();
    expect(() => loadPipeline(write(dir, 'a.yaml', 'name: x\nstages:\n  pretrain: {}\n'))).toThrow(
      /stages: unknown field 'pretrain'; allowed: teacher, prune-distill, finetune-teacher, transfer, qat, export, report/,
    );
    expect(() => loadPipeline(write(dir, 'b.yaml', 'name: x\nstages: [\n'))).toThrow(/b\.yaml:\d+:\d+: not valid YAML/);
    expect(() => loadPipeline(write(dir, 'c.yaml', 'name: x\nstages:\n  teacher: { use: nowhere.yaml }\n'))).toThrow(/use: nowhere\.yaml: preset not found/);
    expect(() => loadPipeline('pipelines/smoke.yaml', ['seed'])).toThrow(/--set seed: expected key=value/);
    expect(() => loadPipeline(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml: file not found/);
  });

  it('takes quantization.embeddingBits 8 or 4 (absent = 8), checks it, and puts it in the qat fingerprint', () => {
    const q = (sets: string[]) => loadPipeline('pipelines/smoke.yaml', sets).pipeline.stages.qat!.quantization;
    expect(q([]).embeddingBits).toBeUndefined();
    expect(qatHookSettings(q([]))).toMatchObject({ quantizeEmbeddings: true });
    expect(qatHookSettings(q([])).embeddingSpec).toBeUndefined(); // the kernels' int8 spec, as before
    expect(qatHookSettings(q(['stages.qat.quantization.embeddingBits=8'])).embeddingSpec).toBeUndefined();
    expect(qatHookSettings(q(['stages.qat.quantization.embeddingBits=4']))).toMatchObject({ quantizeEmbeddings: true, embeddingSpec: INT4_EMBEDDINGS });
    expect(() => q(['stages.qat.quantization.embeddingBits=6'])).toThrow(
      /stages\.qat\.quantization\.embeddingBits: must be 8 or 4 \(bits of the quantized embedding tables\); found 6/,
    );
    expect(() => q(['stages.qat.quantization.embeddingBits=4', 'stages.qat.quantization.embeddings=false'])).toThrow(
      /stages\.qat\.quantization\.embeddingBits: 4-bit tables need quantized tables, but embeddings is false \(float32 tables\); set embeddings: true or remove embeddingBits; found 4/,
    );
    const plan = (sets: string[]) => new Map(planStages(loadPipeline('pipelines/smoke.yaml', sets).pipeline).map((s) => [s.stage, s.fingerprint]));
    const [base, four] = [plan([]), plan(['stages.qat.quantization.embeddingBits=4'])];
    expect(four.get('transfer')).toBe(base.get('transfer'));
    for (const stage of ['qat', 'export', 'report'] as const) expect(four.get(stage), stage).not.toBe(base.get(stage));
  });

  it('merges a preset under the inline fields', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'configs'));
    write(join(dir, 'configs'), 'train.yaml', 'steps: 100\nbatchSize: 4\nlearningRate: 0.01\n');
    const p = write(dir, 'p.yaml', 'name: x\nstages:\n  teacher:\n    train: { use: configs/train.yaml, steps: 5 }\n');
    const { pipeline } = loadPipeline(p);
    expect(pipeline.stages.teacher!.train).toMatchObject({ steps: 5, batchSize: 4, learningRate: 0.01 });
  });
});

describe('pruning during task training (transfer.pruning)', () => {
  it("pipelines/downstream.yaml is the main job's tasks, teacher, steps and schedule, pruned downstream", () => {
    const up = loadPipeline('pipelines/prune-once.yaml').pipeline;
    const down = loadPipeline('pipelines/downstream.yaml').pipeline;
    expect(down.stages['prune-distill']).toBeUndefined();
    expect(down.stages.teacher).toEqual(up.stages.teacher);
    expect(down.tasks).toEqual(up.tasks);
    expect(down.corpus).toEqual(up.corpus);
    expect(down.stages.transfer!.pruning).toEqual(up.stages['prune-distill']!.pruning);
    expect(down.stages.transfer!.train).toEqual(up.stages.transfer!.train);
    expect(down.stages.transfer!.distill).toEqual(up.stages.transfer!.distill);
    for (const s of ['finetune-teacher', 'qat', 'export', 'report'] as const) expect(down.stages[s], s).toEqual(up.stages[s]);
    // The transfer stage reads no prune-distill output: planning a task's stages needs none.
    const task = { ...down, task: down.tasks!.spam, tasks: undefined };
    expect(planStages(task).map((s) => s.stage)).toEqual(['teacher', 'finetune-teacher', 'transfer', 'qat', 'export', 'report']);
    const upstreamTask = { ...task, stages: { ...task.stages, transfer: up.stages.transfer } };
    expect(() => planStages(upstreamTask)).toThrow(/stage 'transfer' needs the output of 'prune-distill'/);
  });

  it('is refused beside prune-distill (one path per model), naming the field', () => {
    const dir = tempDir();
    const file = write(
      dir,
      'both.yaml',
      `name: both
stages:
  teacher: { model: { preset: bert-tiny } }
  prune-distill: { train: { steps: 2, learningRate: 0.001 } }
  finetune-teacher: { train: { steps: 2, learningRate: 0.001 } }
  transfer: { pruning: { finalSparsity: 0.8 }, train: { steps: 2, learningRate: 0.001 } }
`,
    );
    expect(() => loadPipeline(file)).toThrow(/both\.yaml: invalid pipeline:\n {2}- stages\.transfer\.pruning: prunes during task training.*remove one of them/);
  });

  it("loads a run's pipeline.json (the runner's record) as the pipeline it holds", () => {
    const { pipeline } = loadPipeline('pipelines/downstream.yaml');
    const dir = tempDir();
    const file = write(dir, 'pipeline.json', JSON.stringify({ source: '/somewhere/downstream.yaml', sets: ['seed=3'], pipeline }));
    expect(loadPipeline(file).pipeline).toEqual(pipeline);
  });
});
