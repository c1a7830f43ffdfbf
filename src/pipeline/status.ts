/**
 * Where a run directory stands, stage by stage, read from the stage table and the run layout: which
 * stages the run's pipeline has, which are done (result.json), and which of their declared outputs
 * are on disk. `inspect` of a run directory shows it when there is no report yet.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runFile, stageDir } from '../run/layout.js';
import { readResult } from '../run/result.js';
import { STAGES } from './stages/index.js';
import type { StageDefinition } from './stages/types.js';

export interface StageStatus {
  stage: string;
  describe: string;
  /** In the run's pipeline (pipeline.json); false when it is not, or when pipeline.json is missing. */
  configured: boolean;
  done: boolean;
  fingerprint: string | null;
  seconds: number | null;
  /** Declared outputs (relative to the run directory) and whether each exists. */
  outputs: Array<{ path: string; present: boolean }>;
}

function savedStages(runDir: string): Record<string, unknown> | null {
  try {
    const saved = JSON.parse(readFileSync(runFile(runDir, 'pipeline'), 'utf8')) as { pipeline?: { stages?: Record<string, unknown> } };
    return saved.pipeline?.stages ?? null;
  } catch {
    return null;
  }
}

export function runStatus(runDir: string): StageStatus[] {
  const stages = savedStages(runDir);
  return (STAGES as readonly StageDefinition[]).map((def) => {
    const parsed = stages && stages[def.name] !== undefined ? def.schema.safeParse(stages[def.name]) : null;
    const result = readResult(stageDir(runDir, def.name));
    const outputs = parsed?.success ? def.outputs(parsed.data).map((path) => ({ path, present: existsSync(join(runDir, path)) })) : [];
    return {
      stage: def.name,
      describe: def.describe,
      configured: parsed?.success ?? false,
      done: result !== null,
      fingerprint: result?.fingerprint ?? null,
      seconds: result?.seconds ?? null,
      outputs,
    };
  });
}

export function formatRunStatus(runDir: string, status: StageStatus[]): string {
  const lines = [`run ${runDir}`];
  for (const s of status) {
    const state = s.done ? `done in ${s.seconds?.toFixed(1)} s (fingerprint ${s.fingerprint})` : s.configured ? 'not done' : 'not in this pipeline';
    lines.push(`  ${s.stage.padEnd(17)}${state}: ${s.describe}`);
    for (const o of s.outputs) lines.push(`    ${o.present ? '  ' : '! '}${o.path}${o.present ? '' : ' (missing)'}`);
  }
  return lines.join('\n');
}
