/**
 * Every error names the file and the fix, temp files never stay
 * behind, `--set` never touches object prototypes, and a failed load or run writes nothing.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPORT_VERSION } from '../../src/report/schema.js';
import { saveCheckpoint } from '../../src/checkpoint/format.js';
import { exportModel } from '../../src/pipeline/export-model.js';
import { importToCheckpoint } from '../../src/import/convert.js';
import { inspectPath } from '../../src/pipeline/inspect.js';
import { loadPipeline } from '../../src/pipeline/load.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { randomSnapshot, tinyConfig, writeHfDir } from '../import/fixtures.js';
import { cli, runLogged, SMOKE, TINY_SETS } from './fixtures.js';

const tmpLeftovers = (dir: string) => readdirSync(dir).filter((f) => f.includes('.tmp-'));

describe('--set', () => {
  it('rejects __proto__, constructor and prototype keys without touching Object.prototype', () => {
    for (const set of ['__proto__.polluted=1', 'constructor.prototype.polluted=1', 'stages.__proto__.polluted=1', 'seed.prototype=1']) {
      try {
        expect(() => loadPipeline(SMOKE, [set])).toThrow(/'(__proto__|constructor|prototype)'.*not allowed/);
        expect(({} as Record<string, unknown>).polluted, set).toBeUndefined();
      } finally {
        delete (Object.prototype as Record<string, unknown>).polluted;
      }
    }
  });

  it('rejects a number that does not fit (1e400) naming the key', () => {
    expect(() => loadPipeline(SMOKE, ['stages.teacher.train.steps=1e400'])).toThrow(/stages\.teacher\.train\.steps=1e400: .*not a finite number/);
    expect(() => loadPipeline(SMOKE, ['seed=-1e999'])).toThrow(/seed=-1e999: .*not a finite number/);
  });

  it('a run that fails does not rewrite pipeline.json', async () => {
    await useTestBackend();
    const out = join(tempDir('prune-once-errors-'), 'run');
    const ok = await runLogged({ pipelinePath: SMOKE, outDir: out, sets: TINY_SETS, until: 'teacher' });
    expect(ok.error).toBeUndefined();
    const before = readFileSync(join(out, 'pipeline.json'), 'utf8');
    const bad = await runLogged({ pipelinePath: SMOKE, outDir: out, sets: [...TINY_SETS, 'corpus.source=/nonexistent/corpus-dir'], until: 'teacher' });
    expect(bad.error).toBeDefined();
    expect(readFileSync(join(out, 'pipeline.json'), 'utf8')).toBe(before);
  }, 300_000);
});

describe('directories where a file is expected', () => {
  it('`use:` naming a directory says so, naming the file and the field', () => {
    const dir = tempDir('prune-once-errors-');
    mkdirSync(join(dir, 'presets'));
    const p = join(dir, 'p.yaml');
    writeFileSync(p, 'name: x\nstages:\n  teacher:\n    use: presets\n');
    expect(() => loadPipeline(p)).toThrow(new RegExp(`${p}: use: presets: .*presets is a directory, not a YAML file`));
  });

  it('a directory given as the pipeline says so', () => {
    const dir = tempDir('prune-once-errors-');
    expect(() => loadPipeline(dir)).toThrow(new RegExp(`${dir}: is a directory, not a pipeline YAML file`));
  });
});

describe('existing outputs', () => {
  const snap = randomSnapshot(tinyConfig({ numLabels: 2 }));

  it('export --out <existing file> names the flag and the fix, leaving no temp file', async () => {
    const dir = tempDir('prune-once-errors-');
    const ckpt = join(dir, 'model.ckpt');
    saveCheckpoint(ckpt, { config: snap.config, weights: snap.weights, tensors: new Map(), state: { labels: ['a', 'b'] } });
    const file = join(dir, 'taken');
    writeFileSync(file, 'x');
    // exportModel is async (it checks the files in ONNX Runtime), so the error is a rejection.
    await expect(exportModel(ckpt, 'fp32', file)).rejects.toThrow(new RegExp(`${file}: exists and is not a directory; .*--out`));
    expect(tmpLeftovers(dir)).toEqual([]);
  });

  it('import --out <existing directory> names the file and the fix, leaving no temp file', () => {
    const dir = tempDir('prune-once-errors-');
    const hf = writeHfDir(join(dir, 'hf'), snap, { classifier: true, labels: ['a', 'b'] });
    const out = join(dir, 'already-a-dir');
    mkdirSync(out);
    expect(() => importToCheckpoint(hf, out)).toThrow(new RegExp(`${out}: is a directory; .*--out`));
    expect(tmpLeftovers(dirname(out))).toEqual([]);
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('reports', () => {
  const write = (r: unknown) => {
    const p = join(tempDir('prune-once-errors-'), 'report.json');
    writeFileSync(p, JSON.stringify(r));
    return p;
  };

  it('a report with the right schema but missing fields names the fields and the fix', () => {
    const p = write({ schema: 'prune-once/report', version: REPORT_VERSION, run: {} });
    for (const json of [false, true]) {
      let msg = '';
      try {
        inspectPath(p, json);
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).toContain(p);
      expect(msg).toMatch(/run\.name/);
      expect(msg).toMatch(/rerun the report stage|prune-once run/);
      expect(msg).not.toMatch(/Cannot read properties/);
    }
  });

  it('an unknown report version is refused, saying which versions are read', () => {
    const p = write({ schema: 'prune-once/report', version: 99 });
    expect(() => inspectPath(p, false)).toThrow(new RegExp(`${p}: report version 99 .*reads version ${REPORT_VERSION}`));
  });
});

describe('numbers in flags', () => {
  it('import --seed abc is rejected naming the flag (exit 2)', async () => {
    const r = await cli(['import', '/nonexistent', '--out', '/tmp/x.ckpt', '--seed', 'abc']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--seed.*abc.*number/);
  });

  it('sweep --workers 0 and worker --concurrency 0 are usage errors naming the flag, not internal errors', async () => {
    for (const workers of ['0', '-1', '1.5']) {
      const r = await cli(['sweep', 'sweeps/sparsity.yaml', '--workers', workers, '--out', join(tempDir('prune-once-errors-'), 'sweep')]);
      expect(r.status, workers).toBe(2);
      expect(r.stderr, workers).toMatch(new RegExp(`--workers must be an integer from 1 to \\d+ \\(stage jobs at once\\), got ${workers.replace('.', '\\.')}`));
    }
    const w = await cli(['worker', '--redis', 'redis://127.0.0.1:1', '--cache', tempDir('prune-once-errors-'), '--concurrency', '0']);
    expect(w.status).toBe(2);
    expect(w.stderr).toMatch(/--concurrency must be an integer from 1 to \d+, got 0/);
  });

  it('bench sparse-linear --hidden abc and bench inference --runs 1e400 are rejected too', async () => {
    const a = await cli(['bench', 'sparse-linear', '--hidden', 'abc']);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/--hidden.*abc.*number/);
    const b = await cli(['bench', 'inference', '/nonexistent.onnx', '--runs', '1e400']);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/--runs.*1e400.*number/);
  });
});
