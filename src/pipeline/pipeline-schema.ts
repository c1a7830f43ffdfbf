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

export const StagesSchema = z.strictObject(stagesShape).refine((s) => Object.keys(s).length > 0, { message: 'a pipeline needs at least one stage' });

export const PipelineSchema = z.strictObject({ ...SharedShape, stages: StagesSchema });

export type Pipeline = z.infer<typeof PipelineSchema>;
export type Stages = z.infer<typeof StagesSchema>;
