/** classifierRowsForTask: which classifier row means each task label, or an error naming both lists. */
import { describe, expect, it } from 'vitest';
import { classifierRowsForTask, LabelMismatchError } from '../../src/data/labels.js';

describe('a classifier taken as is for a task', () => {
  it('maps the same label names in another order to their rows', () => {
    expect(classifierRowsForTask(['spam', 'ham'], ['ham', 'spam'], 'c.json')).toEqual([1, 0]);
    expect(classifierRowsForTask(['a', 'b', 'c'], ['a', 'b', 'c'], 'c.json')).toEqual([0, 1, 2]);
  });

  it("reads transformers' generic LABEL_i names as GLUE's labels 0, 1, ...", () => {
    expect(classifierRowsForTask(['LABEL_0', 'LABEL_1'], ['0', '1'], 'c.json')).toEqual([0, 1]);
    expect(() => classifierRowsForTask(['LABEL_0', 'LABEL_1'], ['neg', 'pos'], 'c.json')).toThrow(LabelMismatchError);
  });

  it('refuses other names or another count, naming the file and both lists', () => {
    expect(() => classifierRowsForTask(['ham', 'spam'], ['neg', 'pos'], 'dir/config.json')).toThrow(
      /^dir\/config\.json: the classifier's labels \["ham", "spam"\] differ from the task's \["neg", "pos"\]/,
    );
    expect(() => classifierRowsForTask(['a', 'b', 'c'], ['a', 'b'], 'c.json')).toThrow(/\["a", "b", "c"\] differ from the task's \["a", "b"\]/);
  });
});
