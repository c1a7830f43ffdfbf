/**
 * The pipeline file schema: the shared settings (./schema.ts) plus `stages`, an ordered mapping
 * whose fields are the stage table's entries, each with its own settings schema
 * (./stages/index.ts). Every object is strict, so a typo is an error.
 */
import { z } from 'zod';
import { SharedShape } from './schema.js';
import { STAGES } from './stages/index.js';

type StagesShape = { [D in (typeof STAGES)[number] as D['name']]: z.ZodOptional<D['schema']> };

const stagesShape = Object.fromEntries(STAGES.map((s) => [s.name, s.schema.optional()])) as StagesShape;

export const StagesSchema = z
  .strictObject(stagesShape)
  .refine((s) => Object.keys(s).length > 0, { message: 'a pipeline needs at least one stage' })
  // One path per model: pruned upstream (prune-distill, then a locked transfer) or during task training.
  .refine((s) => !(s.transfer?.pruning && s['prune-distill']), {
    path: ['transfer', 'pruning'],
    message:
      'prunes during task training, starting from the dense fine-tuned teacher, but this pipeline also prunes upstream (stages.prune-distill); remove one of them',
  });

/**
 * The sequence lengths a run uses, each with its field: the corpus's, and each task's when a task
 * stage runs (`task` is not used when `tasks` is given).
 */
export function sequenceLengths(p: Pick<Pipeline, 'corpus' | 'task' | 'tasks' | 'stages'>): Array<[string, number]> {
  const out: Array<[string, number]> = [['corpus.seqLen', p.corpus.seqLen]];
  if (!STAGES.some((s) => s.data === 'task' && p.stages[s.name as keyof Stages] !== undefined)) return out;
  if (p.tasks) for (const [name, t] of Object.entries(p.tasks)) out.push([`tasks.${name}.seqLen`, t.seqLen]);
  else out.push(['task.seqLen', p.task.seqLen]);
  return out;
}

/**
 * Sequence lengths within the teacher's position table (every model of a run has the teacher's:
 * a compact student takes its maxPositions too). A teacher loaded with `from` is checked before the
 * run instead (preflight.ts), from the file.
 */
function checkSequenceLengths(p: z.output<typeof PipelineShape>, ctx: z.RefinementCtx): void {
  const teacher = p.stages.teacher;
  if (!teacher || teacher.from) return;
  const max = teacher.model.maxPositions;
  for (const [field, seqLen] of sequenceLengths(p)) {
    if (seqLen <= max) continue;
    ctx.addIssue({
      code: 'custom',
      path: field.split('.'),
      input: seqLen,
      message: `${seqLen} tokens is above stages.teacher.model.maxPositions (${max}), the longest sequence the model takes; lower ${field} or raise stages.teacher.model.maxPositions`,
    });
  }
}

const PipelineShape = z.strictObject({ ...SharedShape, stages: StagesSchema });

export const PipelineSchema = PipelineShape.superRefine(checkSequenceLengths);

export type Pipeline = z.infer<typeof PipelineSchema>;
export type Stages = z.infer<typeof StagesSchema>;
