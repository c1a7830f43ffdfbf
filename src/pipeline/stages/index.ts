/**
 * The stage table: every stage of a pipeline, in run order. Each entry (name, settings schema,
 * inputs, outputs, run) is defined in its own module; the pipeline schema
 * (../pipeline-schema.ts), the runner (../run.ts), the report stage and `inspect` of a run
 * directory read it from here.
 *
 * Adding a stage: write its module (a `defineStage({...})` like ./report.ts) and its test, and put
 * it in this list where it runs. Its inputs must be earlier in the list (test/pipeline/stage-table.test.ts).
 */
import { exportStage } from './export.js';
import { finetuneTeacherStage, transferStage } from './finetune.js';
import { pruneDistillStage } from './prune-distill.js';
import { qatStage } from './qat.js';
import { reportStage } from './report.js';
import { teacherStage } from './teacher.js';
import type { StageDefinition } from './types.js';

export const STAGES = [teacherStage, pruneDistillStage, finetuneTeacherStage, transferStage, qatStage, exportStage, reportStage] as const;

export type StageName = (typeof STAGES)[number]['name'];

/** Stage names in run order. */
export const STAGE_ORDER: readonly StageName[] = STAGES.map((s) => s.name);

export function isStageName(name: string): name is StageName {
  return (STAGE_ORDER as readonly string[]).includes(name);
}

/** The table's entry of a stage (its settings type erased: the runner passes the parsed settings). */
export function stageDefinition(name: StageName): StageDefinition {
  return STAGES.find((s) => s.name === name) as unknown as StageDefinition;
}
