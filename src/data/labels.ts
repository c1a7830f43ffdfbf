/**
 * A fine-tuned classifier's labels against a task's: which row of the classifier means each of the
 * task's labels. Names must be the same set (in any order); transformers' generic `LABEL_<i>` names
 * (a config without id2label names) stand for the task labels "0", "1", ... as GLUE files write them.
 */

/** Why a classifier's labels cannot serve a task, naming both lists and the fix. */
export class LabelMismatchError extends Error {}

const list = (labels: readonly string[]) => `[${labels.map((l) => JSON.stringify(l)).join(', ')}]`;

/**
 * For each task label (in the task's order), the classifier's row for it; `where` names the
 * classifier (e.g. its config.json) in the error.
 */
export function classifierRowsForTask(classifier: readonly string[], task: readonly string[], where: string): number[] {
  const generic = classifier.every((l, i) => l === `LABEL_${i}`);
  const rowOf = new Map(classifier.map((l, i) => [generic ? String(i) : l, i]));
  const rows = task.map((l) => rowOf.get(l));
  if (classifier.length !== task.length || rows.some((r) => r === undefined)) {
    throw new LabelMismatchError(
      `${where}: the classifier's labels ${list(classifier)} differ from the task's ${list(task)} (the label names of its training file); ` +
        'a classifier taken as is must predict the same classes: use the task files it was fine-tuned on, or set id2label in its config.json to the names those files use',
    );
  }
  return rows as number[];
}
