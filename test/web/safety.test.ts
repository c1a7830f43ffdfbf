/**
 * Issue 27, findings 1 and 4: `bundle --out` replaces only a folder carrying its own marker, and
 * there only the files it wrote; `--force-into` writes into a folder and deletes nothing; `serve`
 * sends no file through a symlink that leaves the folder. Every user file byte-identical afterwards.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleRun } from '../../src/web/bundle.js';
import { serveBundle } from '../../src/web/serve.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { cli, hashTree } from '../reliability/fixtures.js';
import { sharedSmokeRun } from '../shared-runs.js';

/** A web project of the user's under git: src/main.js, img/logo.png and a web app's manifest.json. */
function gitProject(withManifest = true): string {
  const dir = join(tempDir('prune-once-project-'), 'my-web-app');
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, 'img'));
  writeFileSync(join(dir, 'src', 'main.js'), 'console.log("my app");\n');
  writeFileSync(join(dir, 'img', 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4]));
  if (withManifest) writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ name: 'My app', start_url: '/', icons: [{ src: 'img/logo.png' }] }));
  const git = spawnSync('git', ['init', '-q', dir], { encoding: 'utf8' });
  expect(git.status, git.stderr).toBe(0);
  return dir;
}

let project = '';
let runDir = '';

beforeAll(async () => {
  await useTestBackend();
  // The run lives inside the user's project, as artifacts/smoke does in a clone.
  project = gitProject();
  runDir = join(project, 'artifacts', 'smoke');
  // A copy of the smoke run the smoke and browser tests share (test/shared-runs.ts).
  cpSync((await sharedSmokeRun()).runDir, runDir, { recursive: true });
}, 600_000);

describe('bundle --out', () => {
  it('refuses `bundle artifacts/smoke --out .` in a git project and deletes nothing', async () => {
    const before = hashTree(project);
    const r = await cli(['bundle', 'artifacts/smoke', '--out', '.', '--brotli-quality', '1'], { cwd: project });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--out/);
    expect(hashTree(project)).toEqual(before);
  }, 600_000);

  it('refuses a non-empty folder without its marker, naming the fix (a new folder, or --force-into)', async () => {
    const other = gitProject();
    const before = hashTree(other);
    await expect(bundleRun({ runDir, outDir: other, brotliQuality: 1 })).rejects.toThrow(/not made by prune-once bundle.*new folder.*--force-into/);
    expect(hashTree(other)).toEqual(before);
  }, 600_000);

  it('--force-into writes the bundle beside the user files and deletes or replaces none of them', async () => {
    const other = gitProject(false);
    const before = hashTree(other);
    const r = await bundleRun({ runDir, outDir: other, brotliQuality: 1, forceInto: true });
    expect(r.manifest.files.length).toBeGreaterThan(4);
    const after = hashTree(other);
    for (const [rel, h] of Object.entries(before)) expect(after[rel], rel).toBe(h);
    expect(after['index.html']).toBeDefined();
  }, 600_000);

  it('--force-into refuses a folder holding a file of the same name as one it writes (manifest.json)', async () => {
    const other = gitProject(true);
    const before = hashTree(other);
    await expect(bundleRun({ runDir, outDir: other, brotliQuality: 1, forceInto: true })).rejects.toThrow(/manifest\.json/);
    expect(hashTree(other)).toEqual(before);
  }, 600_000);

  it('rebundling into its own folder replaces only the files it wrote (measurements and user files kept)', async () => {
    const out = join(tempDir('prune-once-bundle-'), 'web');
    await bundleRun({ runDir, outDir: out, brotliQuality: 1 });
    writeFileSync(join(out, 'notes.txt'), 'mine');
    writeFileSync(join(out, 'browser-metrics.json'), '{"measured": true}\n');
    mkdirSync(join(out, 'screenshots'));
    writeFileSync(join(out, 'screenshots', 'page.png'), 'png');
    const kept = ['notes.txt', 'browser-metrics.json', 'screenshots/page.png'];
    const before = hashTree(out);
    const second = await bundleRun({ runDir, outDir: out, brotliQuality: 2 });
    const after = hashTree(out);
    for (const rel of kept) expect(after[rel], rel).toBe(before[rel]);
    expect(second.manifest.download.brotliQuality).toBe(2);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).download.brotliQuality).toBe(2);
  }, 600_000);

  it('refuses --out equal to the run directory or one of its parents', async () => {
    const before = hashTree(project);
    await expect(bundleRun({ runDir, outDir: runDir, brotliQuality: 1 })).rejects.toThrow(/is the run directory or one of its parents/);
    await expect(bundleRun({ runDir, outDir: join(runDir, '..'), brotliQuality: 1 })).rejects.toThrow(/is the run directory or one of its parents/);
    await expect(bundleRun({ runDir, outDir: join(runDir, '..'), brotliQuality: 1, forceInto: true })).rejects.toThrow(
      /is the run directory or one of its parents/,
    );
    expect(hashTree(project)).toEqual(before);
  }, 600_000);
});

/** GET over plain HTTP: status and body. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    request(url, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
    })
      .on('error', fail)
      .end();
  });
}

describe('serve', () => {
  it('does not send a file through a symlink that points outside the folder', async () => {
    const out = join(tempDir('prune-once-serve-'), 'web');
    await bundleRun({ runDir, outDir: out, brotliQuality: 1 });
    const secretDir = tempDir('prune-once-secret-');
    writeFileSync(join(secretDir, 'hostname'), 'secret-host-name');
    symlinkSync(join(secretDir, 'hostname'), join(out, 'leak.txt'));
    symlinkSync(secretDir, join(out, 'leakdir'));
    const s = await serveBundle({ dir: out, port: 0 });
    try {
      for (const path of ['leak.txt', 'leakdir/hostname']) {
        const r = await get(`${s.url}${path}`);
        expect(r.status, path).toBeGreaterThanOrEqual(400);
        expect(r.body).not.toContain('secret-host-name');
      }
      expect((await get(`${s.url}index.html`)).status).toBe(200);
    } finally {
      await s.close();
    }
  }, 600_000);
});
