/** One entry point for every classification task a config can name. */
import { sotuNextTask } from './sotu-next.js';
import { sotuEraTask, sotuPartyTask } from './sotu-tasks.js';
import { spamAssassinTask } from './spam.js';
import type { TaskData } from './types.js';
import { jsonlTask, tsvTask, type TsvColumns } from './user-tasks.js';

export type TaskSpec =
  | { kind: 'spam-assassin'; seed: number; maxPerSplit?: number }
  | { kind: 'sotu-party'; seed: number; maxPerSplit?: number }
  | { kind: 'sotu-era'; seed: number; maxPerSplit?: number }
  | { kind: 'sotu-next'; seed: number; maxPerSplit?: number }
  | { kind: 'tsv'; train: string; dev: string; test?: string; seed?: number; name?: string; columns?: TsvColumns }
  | { kind: 'jsonl'; train: string; dev: string; test?: string; seed?: number; name?: string };

export const TASK_KINDS = ['spam-assassin', 'sotu-party', 'sotu-era', 'sotu-next', 'tsv', 'jsonl'] as const;

export function loadTask(spec: TaskSpec): TaskData {
  switch (spec.kind) {
    case 'spam-assassin':
      return spamAssassinTask(spec);
    case 'sotu-party':
      return sotuPartyTask(spec);
    case 'sotu-era':
      return sotuEraTask(spec);
    case 'sotu-next':
      return sotuNextTask(spec);
    case 'tsv':
      return tsvTask(spec, spec);
    case 'jsonl':
      return jsonlTask(spec, spec);
    default:
      throw new Error(`unknown task kind ${JSON.stringify((spec as { kind?: unknown }).kind)}; known: ${TASK_KINDS.join(', ')}`);
  }
}
