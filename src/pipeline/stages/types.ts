import type { RunContext } from '../context.js';
import type { Stages, StageName } from '../schema.js';

export interface StageRun<S extends StageName> {
  ctx: RunContext;
  /** This stage's directory. */
  dir: string;
  fingerprint: string;
  /** Seed for this stage (the pipeline seed combined with the stage name). */
  seed: number;
  settings: NonNullable<Stages[S]>;
  /** Directories of every stage of the pipeline (inputs are read from there). */
  dirOf(stage: StageName): string;
}

export interface StageOutput {
  metrics: Record<string, number>;
  details: Record<string, unknown>;
}
