/**
 * What a stage is, for the stage table (./index.ts): its name, the schema of its settings, the
 * stages it reads, the files it writes and the function that runs it. One module per stage defines
 * one of these with `defineStage`; the schema, the runner, the report and `inspect` read the table.
 */
import type { z } from 'zod';
import type { RunContext } from '../context.js';

export interface StageRun<Settings> {
  ctx: RunContext;
  /** This stage's directory. */
  dir: string;
  fingerprint: string;
  /** Seed for this stage (the pipeline seed combined with the stage name). */
  seed: number;
  settings: Settings;
  /** Directories of every stage of the pipeline (inputs are read from there). */
  dirOf(stage: string): string;
}

export interface StageOutput {
  metrics: Record<string, number>;
  details: Record<string, unknown>;
}

export interface StageDefinition<Name extends string = string, Schema extends z.ZodType = z.ZodType> {
  name: Name;
  /** One line: what the stage makes (shown by `inspect` of a run directory). */
  describe: string;
  /** Its settings under `stages.<name>` in a pipeline file. */
  schema: Schema;
  /**
   * Stages whose outputs it reads, each earlier in the table. Their fingerprints enter this stage's
   * fingerprint, so a change upstream reruns it.
   */
  inputs: readonly string[];
  /** Inputs it can do without under these settings (default: none; a missing input is an error). */
  optionalInputs?(settings: z.output<Schema>): readonly string[];
  /** Which shared data its output depends on (that part of the settings enters its fingerprint). */
  data: 'corpus' | 'task';
  /**
   * Identity (sizes, hashes) of files outside the run that it reads, for its fingerprint; null when
   * none (`teacher.from`, `prune-distill.from`).
   */
  externalFiles?(settings: z.output<Schema>): unknown;
  /**
   * The version of the format it writes, where readers check one (report.json): it enters the
   * fingerprint, so a run finished by a build that wrote an older format redoes this stage.
   */
  formatVersion?: number;
  /** Files it writes, relative to the run directory (result.json aside, which every stage writes). */
  outputs(settings: z.output<Schema>): readonly string[];
  run(run: StageRun<z.output<Schema>>): Promise<StageOutput>;
}

/** Declares a stage (the identity function, for type inference of the settings from the schema). */
export function defineStage<const Name extends string, Schema extends z.ZodType>(def: StageDefinition<Name, Schema>): StageDefinition<Name, Schema> {
  return def;
}
