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

export const STAGES = [teacherStage, pruneDistillStage, finetuneTeacherStage, transferStage, qatStage, exportStage, reportStage] as const;

export type StageName = (typeof STAGES)[number]['name'];

/** Stage names in run order. */
export const STAGE_ORDER: readonly StageName[] = STAGES.map((s) => s.name);

/**
 * The stages a `tasks:` pipeline runs once, on the corpus, in the run directory; the others run once
 * per task, in `tasks/<task>/`.
 */
export const SHARED_STAGES: ReadonlySet<string> = new Set(STAGES.filter((d) => d.data === 'corpus').map((d) => d.name as string));
