/** Human-readable counts of a task's splits, for TaskData.description and reports. */
import type { Example } from './types.js';

export function splitCounts(labels: string[], splits: Record<string, Example[]>): string {
  return Object.entries(splits)
    .map(([name, examples]) => {
      const per = labels.map((l, i) => `${l} ${examples.filter((e) => e.label === i).length}`).join(', ');
      return `${name} ${examples.length} (${per})`;
    })
    .join('; ');
}
