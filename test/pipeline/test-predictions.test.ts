/**
 * The export stage's per-example ONNX Runtime predictions (export/test-predictions.json): on the
 * shared multi-task run (spam grouped by message, sotu-era by address), each file's accuracy
 * recomputed from the file equals the stage's metric and the report's, and the report's 95%
 * intervals recompute from it with util/stats.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestPredictions } from '../../src/pipeline/stages/export.js';
import type { Report } from '../../src/report/schema.js';
import { readResult } from '../../src/run/result.js';
import { runFile, stageDir, taskRunDir, TEST_PREDICTIONS_FILE } from '../../src/run/layout.js';
import { accuracyInterval, pairedDifferenceInterval } from '../../src/util/stats.js';
import { useTestBackend } from '../helpers.js';
import { sharedMultiTaskRun } from '../shared-runs.js';

let runDir = '';

beforeAll(async () => {
  await useTestBackend();
  ({ runDir } = await sharedMultiTaskRun());
}, 900_000);

const REPORT_KEY = { teacher_fp32: 'teacherOrt', fp32: 'fp32Ort', int8: 'int8Ort', int8_alt: 'int8AltOrt' } as const;

describe.each(['spam', 'era'])('test predictions of task %s', (task) => {
  const read = () => {
    const dir = taskRunDir(runDir, task);
    const file = JSON.parse(readFileSync(join(dir, TEST_PREDICTIONS_FILE), 'utf8')) as TestPredictions;
    const report = JSON.parse(readFileSync(runFile(dir, 'reportJson'), 'utf8')) as Report;
    const metrics = readResult(stageDir(dir, 'export'))!.metrics;
    const groups = file.group.map((g) => file.groups[g]);
    const correct = (p: number[]) => p.map((c, i) => c === file.label[i]);
    return { file, report, metrics, groups, correct };
  };

  it('holds every exported file’s prediction, label and group for each test example', () => {
    const { file, metrics } = read();
    expect(Object.keys(file.predictions).sort()).toEqual(['fp32', 'int8', 'int8_alt', 'teacher_fp32']);
    expect(file.label.length).toBe(metrics.test_examples);
    for (const p of Object.values(file.predictions)) expect(p.length).toBe(file.label.length);
    expect(file.group.length).toBe(file.label.length);
    // Fewer groups than examples would be wrong for spam (one message each); sotu-era groups by address.
    if (task === 'spam') expect(file.groups.length).toBe(file.label.length);
    else expect(file.groups.length).toBeLessThan(file.label.length);
  });

  it('recomputes each file’s accuracy, equal to the export metric and the report', () => {
    const { file, report, metrics, correct } = read();
    for (const [prefix, pred] of Object.entries(file.predictions)) {
      const acc = correct(pred).filter(Boolean).length / pred.length;
      expect(metrics[`${prefix}_ort_test_accuracy`], prefix).toBeCloseTo(acc, 12);
      const key = REPORT_KEY[prefix as keyof typeof REPORT_KEY];
      if (key !== 'int8AltOrt') expect(report.accuracy[key], prefix).toBeCloseTo(acc, 12);
    }
  });

  it('recomputes the report’s intervals and the paired int8 - teacher interval from the file', () => {
    const { file, report, groups, correct } = read();
    const iv = report.accuracy.intervals!;
    for (const [prefix, pred] of Object.entries(file.predictions)) {
      const [lo, hi] = accuracyInterval(correct(pred), groups, file.bootstrap);
      const key = REPORT_KEY[prefix as keyof typeof REPORT_KEY];
      expect(iv[key], prefix).toEqual([lo, hi]);
      const acc = correct(pred).filter(Boolean).length / pred.length;
      expect(lo).toBeLessThanOrEqual(acc);
      expect(hi).toBeGreaterThanOrEqual(acc);
    }
    const [dlo, dhi] = pairedDifferenceInterval(correct(file.predictions.int8), correct(file.predictions.teacher_fp32), groups, file.bootstrap);
    const d = report.accuracy.int8MinusTeacherOrt!;
    expect(d.interval[0]).toBeCloseTo(100 * dlo, 9);
    expect(d.interval[1]).toBeCloseTo(100 * dhi, 9);
    expect(d.points).toBeCloseTo(100 * (report.accuracy.int8Ort! - report.accuracy.teacherOrt!), 9);
  });

  it('shows the intervals in report.md and the table of tasks', () => {
    const { report } = read();
    const md = readFileSync(runFile(taskRunDir(runDir, task), 'reportMd'), 'utf8');
    const [lo, hi] = report.accuracy.intervals!.int8Ort;
    const shown = `${(100 * report.accuracy.int8Ort!).toFixed(2)}% [${(100 * lo).toFixed(2)}, ${(100 * hi).toFixed(2)}]`;
    expect(md).toContain(shown);
    expect(readFileSync(runFile(runDir, 'tasksMd'), 'utf8')).toContain(shown);
  });
});
