import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../src/pipeline/load.js';
import { prunerSettings, PruningSchema } from '../../src/prune/config.js';
import { tempDir } from '../helpers.js';

const stages = (pruning: string) =>
  `name: p\nstages:\n  teacher: { model: { preset: bert-tiny } }\n  prune-distill:\n    pruning: ${pruning}\n    train: { steps: 240, learningRate: 0.0001 }\n`;

function load(pruning: string) {
  const file = join(tempDir(), 'p.yaml');
  writeFileSync(file, stages(pruning));
  return loadPipeline(file).pipeline.stages['prune-distill']!.pruning;
}

function loadError(pruning: string): string {
  try {
    load(pruning);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the pipeline to be rejected');
}

describe('pipeline pruning config', () => {
  it('reads the flat form of older pipelines and the schedule object alike', () => {
    const flat = load('{ method: magnitude, schedule: cubic, finalSparsity: 0.9, beginFraction: 0, endFraction: 0.5, frequency: 10 }');
    const nested = load('{ method: magnitude, schedule: { kind: cubic, finalSparsity: 0.9, beginFraction: 0, endFraction: 0.5, frequency: 10 } }');
    expect(flat).toEqual(nested);
    expect(load('{ finalSparsity: 0.9, endFraction: 0.5, frequency: 2 }').schedule).toEqual({
      kind: 'cubic',
      initialSparsity: 0,
      finalSparsity: 0.9,
      beginFraction: 0,
      endFraction: 0.5,
      frequency: 2,
    });
    expect(load('{}')).toEqual(PruningSchema.parse({}));
    // `--set` on the flat field of a shipped pipeline still reaches the schedule.
    const set = loadPipeline('pipelines/prune-once.yaml', ['stages.prune-distill.pruning.finalSparsity=0.85']).pipeline;
    expect(set.stages['prune-distill']!.pruning.schedule).toMatchObject({ kind: 'cubic', finalSparsity: 0.85 });
  });

  it('gives the shipped pipelines the step schedules the stage computed before the registry owned it', () => {
    for (const file of ['pipelines/prune-once.yaml', 'pipelines/smoke.yaml']) {
      const stage = loadPipeline(file).pipeline.stages['prune-distill']!;
      const steps = stage.train!.steps;
      // The stage's former scheduleFor, verbatim, on the former flat fields.
      const beginStep = Math.round(0 * steps);
      const endStep = Math.max(beginStep + 1, Math.round(0.5 * steps));
      const frequency = file.includes('smoke') ? 2 : 10;
      expect(prunerSettings(stage.pruning, steps), file).toEqual({
        method: 'magnitude',
        schedule: { kind: 'cubic', initialSparsity: 0, finalSparsity: 0.9, beginStep, endStep, frequency },
        block: undefined,
        groups: [],
      });
    }
  });

  it('gives the pruner the step schedule the stage used before the registry owned it', () => {
    // The main job: 240 steps, 0 -> 0.9 over the first half, every 10 steps.
    const main = load('{ method: magnitude, schedule: cubic, finalSparsity: 0.9, beginFraction: 0, endFraction: 0.5, frequency: 10 }');
    expect(prunerSettings(main, 240)).toEqual({
      method: 'magnitude',
      schedule: { kind: 'cubic', initialSparsity: 0, finalSparsity: 0.9, beginStep: 0, endStep: 120, frequency: 10 },
      block: undefined,
      groups: [],
    });
    expect(prunerSettings(load('{ schedule: one-shot, beginFraction: 0.25, finalSparsity: 0.5 }'), 40).schedule).toEqual({
      kind: 'one-shot',
      sparsity: 0.5,
      step: 10,
    });
  });

  it('turns overrides into groups with the same schedule kind to their own final sparsity', () => {
    const p = load("{ finalSparsity: 0.9, overrides: [{ match: 'encoder/layer_0/**', finalSparsity: 0.5 }] }");
    expect(prunerSettings(p, 100).groups).toEqual([
      { match: 'encoder/layer_0/**', schedule: { kind: 'cubic', initialSparsity: 0, finalSparsity: 0.5, beginStep: 0, endStep: 50, frequency: 10 } },
    ]);
    const bad = load("{ initialSparsity: 0.6, finalSparsity: 0.9, overrides: [{ match: 'encoder/layer_0/**', finalSparsity: 0.5 }] }");
    expect(() => prunerSettings(bad, 100)).toThrow(/pruning.overrides\[0\] \(encoder\/layer_0\/\*\*\): finalSparsity: must be >= initialSparsity/);
  });

  it('rejects method: block without the block shape at load, naming the field', () => {
    const msg = loadError('{ method: block }');
    expect(msg).toMatch(/p\.yaml: invalid pipeline/);
    expect(msg).toMatch(/stages\.prune-distill\.pruning\.block: method: block needs the block shape, e\.g\. block: \[1, 4\]/);
    expect(load('{ method: block, block: [1, 4] }').block).toEqual([1, 4]);
  });

  it('names unknown methods, kinds and fields of another kind', () => {
    expect(loadError('{ method: pattern-lock }')).toMatch(/pruning\.method: .*"magnitude"\|"global-magnitude"\|"block"/);
    expect(loadError('{ schedule: quadratic }')).toMatch(/pruning\.schedule\.kind: /);
    expect(loadError('{ schedule: constant, frequency: 3 }')).toMatch(/pruning\.schedule: unknown field 'frequency'/);
    expect(loadError('{ schedule: { kind: cubic, freq: 3 } }')).toMatch(/pruning\.schedule: unknown field 'freq'/);
  });
});
