/**
 * `--fresh` deletes only what the tool made: a pipeline named `..` or `.`,
 * or `--out` naming a directory the tool did not make, must lose nothing that the tool did not make.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, useTestBackend } from '../helpers.js';
import { listFiles, runLogged, SMOKE, TINY_SETS } from './fixtures.js';

const home = process.cwd();
afterEach(() => process.chdir(home));
beforeAll(async () => {
  await useTestBackend();
});

/** A sandbox working directory holding a pipeline file with the given name and a file of the user's. */
function sandbox(name: string): { dir: string; pipeline: string } {
  const dir = tempDir('prune-once-fresh-');
  const pipeline = join(dir, 'p.yaml');
  writeFileSync(pipeline, `use: ${SMOKE}\nname: "${name}"\n`);
  writeFileSync(join(dir, 'mine.txt'), 'the user wrote this');
  mkdirSync(join(dir, 'artifacts', 'other-run'), { recursive: true });
  writeFileSync(join(dir, 'artifacts', 'other-run', 'keep.txt'), 'another run');
  return { dir, pipeline };
}

describe('--fresh deletes only what the tool made', () => {
  it('refuses a pipeline named ".." and deletes nothing', async () => {
    const { dir, pipeline } = sandbox('..');
    process.chdir(dir);
    const r = await runLogged({ pipelinePath: pipeline, fresh: true, sets: TINY_SETS, until: 'teacher' });
    process.chdir(home);
    expect(readFileSync(join(dir, 'mine.txt'), 'utf8')).toBe('the user wrote this');
    expect(existsSync(pipeline)).toBe(true);
    expect(r.error?.message).toMatch(/name.*'\.\.'/);
  });

  it('refuses a pipeline named "." and leaves the other runs in artifacts/ alone', async () => {
    const { dir, pipeline } = sandbox('.');
    process.chdir(dir);
    const r = await runLogged({ pipelinePath: pipeline, fresh: true, sets: TINY_SETS, until: 'teacher' });
    process.chdir(home);
    expect(readFileSync(join(dir, 'artifacts', 'other-run', 'keep.txt'), 'utf8')).toBe('another run');
    expect(r.error?.message).toMatch(/name.*'\.'/);
  });

  it('refuses --fresh --out on a directory the tool did not make, keeping its files', async () => {
    const out = join(tempDir('prune-once-fresh-'), 'somebody-elses');
    mkdirSync(out);
    writeFileSync(join(out, 'thesis.tex'), 'years of work');
    const r = await runLogged({ pipelinePath: SMOKE, outDir: out, fresh: true, sets: TINY_SETS, until: 'teacher' });
    expect(readFileSync(join(out, 'thesis.tex'), 'utf8')).toBe('years of work');
    expect(r.error?.message).toMatch(/not made by prune-once/);
    expect(r.error?.message).toContain(out);
  });

  it('in a run directory it made, --fresh deletes its own files and keeps a foreign one', async () => {
    const out = join(tempDir('prune-once-fresh-'), 'run');
    const first = await runLogged({ pipelinePath: SMOKE, outDir: out, sets: TINY_SETS, until: 'teacher' });
    expect(first.error).toBeUndefined();
    writeFileSync(join(out, 'notes.txt'), 'mine');
    writeFileSync(join(out, 'teacher', 'plot.png'), 'mine too');
    const again = await runLogged({ pipelinePath: SMOKE, outDir: out, fresh: true, sets: TINY_SETS, until: 'teacher' });
    expect(again.error).toBeUndefined();
    expect(again.summary!.stages.map((s) => s.status)).toEqual(['ran']);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    expect(readFileSync(join(out, 'teacher', 'plot.png'), 'utf8')).toBe('mine too');
    expect(again.log).toMatch(/kept 2 files? not made by prune-once/);
    expect(listFiles(out)).toEqual(expect.arrayContaining(['notes.txt', 'teacher/model.ckpt', 'teacher/result.json', 'teacher/plot.png']));
  });
});
