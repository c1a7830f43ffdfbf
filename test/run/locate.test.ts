/**
 * Resolving what a path given to a command is (src/run/locate.ts), on run layouts written here (no
 * training): a multi-task run is told from a single-task one, a task's directory knows its run,
 * --task picks a task or is refused with the fix, and a file a multi-task run keeps per task is
 * named in each task.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { locate, missingMessage, resolveScope, runTasks } from '../../src/run/locate.js';
import { tempDir } from '../helpers.js';

let root = '';
let single = '';
let multi = '';

function write(path: string, text = 'x'): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

beforeAll(() => {
  root = tempDir('prune-once-locate-');
  single = join(root, 'single');
  write(join(single, 'pipeline.json'), JSON.stringify({ pipeline: { name: 'single', task: { kind: 'spam-assassin' } } }));
  write(join(single, 'qat', 'model.ckpt'));
  write(join(single, 'model.int8.onnx'));
  multi = join(root, 'multi');
  // pipeline.json's order (era before spam) is the tasks' order.
  write(join(multi, 'pipeline.json'), JSON.stringify({ pipeline: { name: 'multi', tasks: { era: {}, spam: {} } } }));
  write(join(multi, 'prune-distill', 'model.ckpt'));
  for (const t of ['era', 'spam']) {
    write(join(multi, 'tasks', t, 'qat', 'model.ckpt'));
    write(join(multi, 'tasks', t, 'qat', 'result.json'));
    write(join(multi, 'tasks', t, 'model.int8.onnx'));
  }
});

describe('locating a path in the run layout', () => {
  it('tells a single-task run from a multi-task run, listing its tasks in the pipeline order', () => {
    expect(locate(single)).toMatchObject({ kind: 'run', run: { dir: single, tasks: null }, scope: { dir: single, runDir: single } });
    expect(locate(multi)).toMatchObject({ kind: 'multi-task-run', run: { dir: multi, tasks: ['era', 'spam'] }, scope: null });
  });

  it('finds the tasks from tasks.json, else the tasks/ folder, when pipeline.json has none', () => {
    const fromTable = join(root, 'table');
    write(join(fromTable, 'tasks.json'), JSON.stringify({ tasks: [{ task: 'b' }, { task: 'a' }] }));
    expect(runTasks(fromTable)).toEqual(['b', 'a']);
    const fromFolders = join(root, 'folders');
    write(join(fromFolders, 'pipeline.json'), JSON.stringify({ pipeline: { name: 'f' } }));
    mkdirSync(join(fromFolders, 'tasks', 'y'), { recursive: true });
    mkdirSync(join(fromFolders, 'tasks', 'x'), { recursive: true });
    expect(runTasks(fromFolders)).toEqual(['x', 'y']);
    expect(runTasks(single)).toBeNull();
  });

  it("knows a task directory's run (pipeline.json, vocab.txt and the shared stages are there)", () => {
    const spam = join(multi, 'tasks', 'spam');
    expect(locate(spam)).toMatchObject({ kind: 'task', run: { dir: multi }, scope: { dir: spam, runDir: multi, task: 'spam' } });
    expect(locate(join(spam, 'qat'))).toMatchObject({ kind: 'stage', stage: 'qat', scope: { runDir: multi, task: 'spam' } });
    expect(locate(join(spam, 'qat', 'model.ckpt'))).toMatchObject({ kind: 'checkpoint', stage: 'qat', run: { dir: multi }, scope: { task: 'spam' } });
    expect(locate(join(spam, 'model.int8.onnx'))).toMatchObject({ kind: 'onnx', scope: { dir: spam, runDir: multi } });
    // A shared stage belongs to the run, to no task.
    expect(locate(join(multi, 'prune-distill', 'model.ckpt'))).toMatchObject({ kind: 'checkpoint', stage: 'prune-distill', run: { dir: multi }, scope: null });
    // A folder named tasks/ outside a run is not a task.
    const loose = join(root, 'loose', 'tasks', 'spam');
    mkdirSync(loose, { recursive: true });
    expect(locate(loose).kind).toBe('other');
  });
});

describe('--task', () => {
  it('picks a task of a multi-task run, and a command on the run without it lists the tasks', () => {
    expect(resolveScope(multi, 'spam', 'bundle').scope).toEqual({ dir: join(multi, 'tasks', 'spam'), runDir: multi, task: 'spam' });
    expect(() => resolveScope(multi, undefined, 'bundle')).toThrow(
      `${multi} is a multi-task run with 2 tasks (era, spam), each in its own directory; bundle acts on one task: add --task NAME (e.g. --task era), or give the task's directory (${join(multi, 'tasks', 'era')})`,
    );
    expect(() => resolveScope(multi, 'nope', 'bundle')).toThrow(`--task nope: ${multi} has no task 'nope'; its tasks are era, spam`);
  });

  it('is refused where it does not apply, saying what to do', () => {
    expect(() => resolveScope(single, 'spam', 'export')).toThrow(/is a single-task run \(it has no tasks\/ folder\); drop --task/);
    expect(() => resolveScope(join(multi, 'tasks', 'spam'), 'era', 'export')).toThrow(
      /belongs to task 'spam' of .*; drop --task, or give the run directory with --task era/,
    );
    expect(resolveScope(join(multi, 'tasks', 'spam'), 'spam', 'export').scope?.task).toBe('spam');
    expect(() => resolveScope(join(root, 'loose'), 'spam', 'export')).toThrow(/is not one; give the run directory with --task, or drop --task/);
  });
});

describe('a path that does not exist', () => {
  it("names each task's own file when the multi-task run keeps it per task", () => {
    expect(missingMessage(join(multi, 'model.int8.onnx'))).toBe(
      `${join(multi, 'model.int8.onnx')}: no such file or directory; ${multi} is a multi-task run, whose tasks each have their own model.int8.onnx: ` +
        `${join(multi, 'tasks', 'era', 'model.int8.onnx')}, ${join(multi, 'tasks', 'spam', 'model.int8.onnx')} (or give the run directory with --task era)`,
    );
    expect(missingMessage(join(multi, 'qat', 'model.ckpt'), 'checkpoint')).toContain(`${join(multi, 'tasks', 'spam', 'qat', 'model.ckpt')}`);
    expect(missingMessage(join(single, 'nothing.onnx'), 'file', 'give an .onnx file')).toBe(
      `${join(single, 'nothing.onnx')}: no such file; give an .onnx file`,
    );
  });
});
