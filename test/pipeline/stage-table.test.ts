/**
 * The stage table is the one description of the stages: the pipeline schema, the runner's order
 * and inputs, the report's inputs and `inspect` all come from it, so they cannot drift apart.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectPath } from '../../src/pipeline/inspect.js';
import { loadPipeline } from '../../src/pipeline/load.js';
import { StagesSchema } from '../../src/pipeline/pipeline-schema.js';
import { STAGE_ORDER, STAGES } from '../../src/pipeline/stages/index.js';
import type { StageDefinition } from '../../src/pipeline/stages/types.js';
import { runStatus } from '../../src/pipeline/status.js';
import { runFile, stageDir } from '../../src/run/layout.js';
import { writeResult } from '../../src/run/result.js';
import { tempDir } from '../helpers.js';

const table = STAGES as readonly StageDefinition[];

describe('the stage table', () => {
  it('is what the pipeline schema accepts, in run order', () => {
    expect(STAGE_ORDER).toEqual(['teacher', 'prune-distill', 'finetune-teacher', 'transfer', 'qat', 'export', 'report']);
    expect(Object.keys(StagesSchema.shape)).toEqual([...STAGE_ORDER]);
    // A stage's settings are validated by its own schema: an unknown field names the stage's allowed ones.
    expect(() => loadPipeline('pipelines/smoke.yaml', ['stages.report.latencyRunz=3'])).toThrow(
      /stages\.report: unknown field 'latencyRunz'; allowed: latencyBatches, latencyRuns/,
    );
  });

  it('names only earlier stages as inputs, and optional inputs among them', () => {
    const { pipeline } = loadPipeline('pipelines/smoke.yaml');
    table.forEach((def, i) => {
      const earlier = table.slice(0, i).map((d) => d.name);
      for (const dep of def.inputs) expect(earlier, `${def.name} reads ${dep}`).toContain(dep);
      const settings = pipeline.stages[def.name as keyof typeof pipeline.stages];
      for (const dep of def.optionalInputs?.(settings) ?? []) expect(def.inputs).toContain(dep);
    });
    // Export without int8 does not need qat; with it, it does.
    const exportStage = table.find((d) => d.name === 'export')!;
    expect(exportStage.optionalInputs!({ formats: ['fp32'], verify: true })).toEqual(['qat']);
    expect(exportStage.optionalInputs!({ formats: ['fp32', 'int8'], verify: true })).toEqual([]);
    expect(exportStage.outputs({ formats: ['fp32'], verify: true })).toEqual(['model.teacher.fp32.onnx', 'model.fp32.onnx', 'export/test-predictions.json']);
    // The per-example predictions come from the ONNX Runtime check: none without it.
    expect(exportStage.outputs({ formats: ['fp32'], verify: false })).toEqual(['model.teacher.fp32.onnx', 'model.fp32.onnx']);
  });

  it('declares outputs that no two stages share', () => {
    const { pipeline } = loadPipeline('pipelines/smoke.yaml');
    const all = table.flatMap((def) => def.outputs(pipeline.stages[def.name as keyof typeof pipeline.stages]));
    expect(new Set(all).size).toBe(all.length);
    expect(all).toEqual(expect.arrayContaining(['teacher/model.ckpt', 'qat/model.ckpt', 'model.int8.onnx', 'report.json', 'report.md']));
  });

  it("tells `inspect` where a run without a report stands, from the table and the run's files", () => {
    const run = tempDir();
    const { pipeline } = loadPipeline('pipelines/smoke.yaml');
    writeFileSync(
      runFile(run, 'pipeline'),
      JSON.stringify({
        source: 'pipelines/smoke.yaml',
        sets: [],
        pipeline: { ...pipeline, stages: { teacher: pipeline.stages.teacher, export: pipeline.stages.export } },
      }),
    );
    mkdirSync(stageDir(run, 'teacher'));
    writeFileSync(join(run, 'teacher', 'model.ckpt'), 'x');
    writeResult(stageDir(run, 'teacher'), { stage: 'teacher', fingerprint: 'f00d', startedAt: '', finishedAt: '', seconds: 2.5, metrics: {}, details: {} });
    const status = runStatus(run);
    expect(status.map((s) => [s.stage, s.configured, s.done])).toEqual([
      ['teacher', true, true],
      ['prune-distill', false, false],
      ['finetune-teacher', false, false],
      ['transfer', false, false],
      ['qat', false, false],
      ['export', true, false],
      ['report', false, false],
    ]);
    expect(status[0].outputs).toEqual([{ path: 'teacher/model.ckpt', present: true }]);
    expect(status[5].outputs.map((o) => o.present)).toEqual([false, false, false, false, false]);
    const { text, ok } = inspectPath(run, false);
    expect(ok).toBe(true);
    expect(text).toMatch(/teacher +done in 2\.5 s \(fingerprint f00d\)/);
    expect(text).toMatch(/! model\.int8\.onnx \(missing\)/);
    expect(text).toMatch(/no report\.json yet/);
    expect(JSON.parse(inspectPath(run, true).text).stages[5]).toMatchObject({ stage: 'export', configured: true, done: false });
    expect(() => inspectPath(tempDir(), false)).toThrow(/not a run directory \(no pipeline\.json\)/);
  });
});
