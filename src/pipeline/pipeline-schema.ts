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

export const PipelineSchema = z.strictObject({ ...SharedShape, stages: StagesSchema });

export type Pipeline = z.infer<typeof PipelineSchema>;
export type Stages = z.infer<typeof StagesSchema>;
