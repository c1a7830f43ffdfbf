/**
 * The smoke run's int8 model in a web page: bundled, served with brotli/gzip, opened in a real
 * headless Chromium (Debian's /usr/bin/chromium through playwright-core), where the page's own
 * classify function gives the same predictions as onnxruntime-node on the test split; report.html
 * renders every chart without console errors and its figures are report.json's. The Chromium tests
 * skip, saying why, where Chromium is absent; the rest runs everywhere.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPORTED } from '../../src/pipeline/stages/report.js';
import { renderHtml } from '../../src/report/html.js';
import { readReport } from '../../src/report/read.js';
import type { Report } from '../../src/report/schema.js';
import { partBytesOfFile, SIZE_PARTS, sizeBreakdown, WHOLE_FILE } from '../../src/report/size-parts.js';
import { bundleRun } from '../../src/web/bundle.js';
import type { BundleManifest } from '../../src/run/bundle-manifest.js';
import { CHROMIUM_ARGS, findChromium, measureInBrowser, type MeasureResult } from '../../src/web/measure.js';
import { BROWSER_METRICS_FILE } from '../../src/run/browser-metrics.js';
import { gatherReportView } from '../../src/report/view.js';
import { CROSS_ORIGIN_ISOLATION, pickEncoding, serveBundle } from '../../src/web/serve.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { smokeRunCopy } from '../shared-runs.js';

const chromium = findChromium();
const NO_CHROMIUM = `Chromium not found at ${process.env.PRUNE_ONCE_CHROMIUM ?? '/usr/bin/chromium'} (Debian: apt-get install chromium; .ci/run installs it)`;
if (!chromium) process.stderr.write(`skipping the in-browser tests: ${NO_CHROMIUM}\n`);

let runDir = '';
let bundleDir = '';
let manifest: BundleManifest;
let report: Report;
let measured: MeasureResult | null = null;
let stageWroteHtml = false;

/** report.html of a run directory as the report stage renders it. */
const renderHtmlReport = (dir: string) => renderHtml(gatherReportView(readReport(join(dir, 'report.json')), dir, REPORTED));

beforeAll(async () => {
  await useTestBackend();
  runDir = await smokeRunCopy();
  report = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8')) as Report;
  stageWroteHtml = existsSync(join(runDir, 'report.html'));
  bundleDir = join(runDir, 'web');
  // Brotli quality 5 keeps the test's CPU low (quality 11 spends ~30 s on the runtime's wasm).
  manifest = (await bundleRun({ runDir, outDir: bundleDir, brotliQuality: 5 })).manifest;
  if (chromium) measured = await measureInBrowser({ runDir, bundleDir, chromium });
}, 900_000);

/** GET over plain HTTP with a chosen Accept-Encoding: status, headers and the body as sent. */
function get(url: string, acceptEncoding?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((ok, fail) => {
    const req = request(url, { headers: acceptEncoding === undefined ? {} : { 'Accept-Encoding': acceptEncoding } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('bundle', () => {
  it('writes the page, app, runtime wasm, model, vocabulary and a manifest with sizes, sparsity and labels', () => {
    for (const f of [
      'index.html',
      'app.js',
      'ort/ort-wasm-simd-threaded.wasm',
      'ort/ort-wasm-simd-threaded.mjs',
      'model.int8.onnx',
      'vocab.txt',
      'manifest.json',
      'report.html',
    ]) {
      expect(existsSync(join(bundleDir, f)), f).toBe(true);
    }
    expect(readFileSync(join(bundleDir, 'model.int8.onnx')).equals(readFileSync(join(runDir, 'model.int8.onnx')))).toBe(true);
    expect(readFileSync(join(bundleDir, 'vocab.txt'), 'utf8')).toBe(readFileSync(join(runDir, 'vocab.txt'), 'utf8'));
    expect(manifest.labels).toEqual(['ham', 'spam']);
    expect(manifest.maxSequenceLength).toBe(32);
    expect(manifest.model.encoderSparsity).toBeCloseTo(report.totals.encoderLinear.sparsity, 6);
    expect(manifest.model.bytes).toBe(report.files.int8.bytes);
    for (const f of manifest.files) {
      const raw = readFileSync(join(bundleDir, f.path));
      expect(f.bytes, f.path).toBe(raw.length);
      expect(brotliDecompressSync(readFileSync(join(bundleDir, `${f.path}.br`))).equals(raw), `${f.path}.br`).toBe(true);
      expect(gunzipSync(readFileSync(join(bundleDir, `${f.path}.gz`))).equals(raw), `${f.path}.gz`).toBe(true);
      expect(f.brotliBytes).toBe(readFileSync(join(bundleDir, `${f.path}.br`)).length);
    }
    expect(manifest.download.brotliBytes).toBe(manifest.files.reduce((a, f) => a + f.brotliBytes, 0));
    expect(manifest.download.brotliBytes).toBeLessThan(manifest.download.bytes / 2);
  });

  it('loads nothing from another origin: the app and page reference only files in the folder', () => {
    const html = readFileSync(join(bundleDir, 'index.html'), 'utf8');
    const app = readFileSync(join(bundleDir, 'app.js'), 'utf8');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(app).not.toMatch(/cdn\.jsdelivr|unpkg\.com|cdnjs/);
  });

  it('refuses a run without an int8 model, and an --out that is not a bundle, naming the fix', async () => {
    const empty = tempDir('prune-once-web-norun-');
    await expect(bundleRun({ runDir: empty })).rejects.toThrow(/model\.int8\.onnx not found.*prune-once export/);
    const other = tempDir('prune-once-web-other-');
    writeFileSync(join(other, 'notes.txt'), 'mine');
    await expect(bundleRun({ runDir, outDir: other })).rejects.toThrow(/not made by prune-once bundle.*new folder/);
    expect(readFileSync(join(other, 'notes.txt'), 'utf8')).toBe('mine');
  });
});

describe('serve', () => {
  it('sends the brotli or gzip sibling by Accept-Encoding, identical to the file once decoded', async () => {
    const s = await serveBundle({ dir: bundleDir, port: 0 });
    try {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const raw = readFileSync(join(bundleDir, 'model.int8.onnx'));
      const br = await get(`${s.url}model.int8.onnx`, 'gzip, deflate, br');
      expect(br.headers['content-encoding']).toBe('br');
      expect(br.body.length).toBe(manifest.model.brotliBytes);
      expect(brotliDecompressSync(br.body).equals(raw)).toBe(true);
      const gz = await get(`${s.url}model.int8.onnx`, 'gzip');
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(gz.body).equals(raw)).toBe(true);
      const plain = await get(`${s.url}model.int8.onnx`, '');
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.body.equals(raw)).toBe(true);
      const wasm = await get(`${s.url}ort/ort-wasm-simd-threaded.wasm`, 'br');
      expect(wasm.headers['content-type']).toBe('application/wasm');
      const index = await get(s.url, 'br');
      expect(index.status).toBe(200);
      expect(brotliDecompressSync(index.body).toString('utf8')).toContain('<script type="module" src="app.js">');
      // report.html has no precompressed sibling: compressed on the fly.
      const rep = await get(`${s.url}report.html`, 'gzip');
      expect(gunzipSync(rep.body).toString('utf8')).toContain('prune-once report');
      expect((await get(`${s.url}../../etc/passwd`)).status).toBe(404);
      expect((await get(`${s.url}missing.txt`)).status).toBe(404);
    } finally {
      await s.close();
    }
  });

  it('says which port is in use and how to pick another', async () => {
    const a = await serveBundle({ dir: bundleDir, port: 0 });
    try {
      await expect(serveBundle({ dir: bundleDir, port: a.port })).rejects.toThrow(new RegExp(`port ${a.port} on 127\\.0\\.0\\.1 is in use.*--port`));
    } finally {
      await a.close();
    }
  });

  it('refuses a folder that is not a bundle, naming the fix', async () => {
    await expect(serveBundle({ dir: runDir, port: 0 })).rejects.toThrow(
      /is not a prune-once web bundle \(no manifest\.json\); make one with `prune-once bundle/,
    );
    const partial = tempDir('prune-once-web-partial-');
    writeFileSync(join(partial, 'manifest.json'), JSON.stringify({ ...manifest }));
    await expect(serveBundle({ dir: partial, port: 0 })).rejects.toThrow(/listed in manifest\.json but missing/);
  });

  it('sends the cross-origin isolation headers (COOP, COEP, CORP) on the page and on every file', async () => {
    const server = await serveBundle({ dir: bundleDir, port: 0 });
    try {
      for (const path of ['', manifest.model.path, manifest.vocab.path]) {
        const r = await get(`${server.url}${path}`);
        expect(r.status).toBe(200);
        for (const [k, v] of Object.entries(CROSS_ORIGIN_ISOLATION)) expect(r.headers[k.toLowerCase()]).toBe(v);
      }
    } finally {
      await server.close();
    }
  });

  it('reads Accept-Encoding as browsers send it', () => {
    expect(pickEncoding('gzip, deflate, br, zstd')).toBe('br');
    expect(pickEncoding('gzip, deflate')).toBe('gzip');
    expect(pickEncoding('br;q=0, gzip')).toBe('gzip');
    expect(pickEncoding(undefined)).toBeNull();
  });
});

describe('report.html', () => {
  it('is written by the report stage', () => {
    expect(stageWroteHtml).toBe(true);
  });

  it('holds the report.json figures in its tables', async () => {
    const html = await renderHtmlReport(runDir);
    const cells = new Map([...html.matchAll(/data-key="([^"]+)" data-value="([^"]+)"/g)].map((m) => [m[1].replace(/&#47;/g, '/'), m[2]]));
    const num = (k: string) => {
      expect(cells.has(k), k).toBe(true);
      return cells.get(k) === 'null' ? null : Number(cells.get(k));
    };
    for (const k of ['teacherOrt', 'fp32Ort', 'int8Ort'] as const) expect(num(`accuracy.${k}`)).toBe(report.accuracy[k]);
    for (const [k, v] of Object.entries(report.ratios)) expect(num(`ratios.${k}.value`)).toBe(v.value);
    expect(num('files.int8.bytes')).toBe(report.files.int8.bytes);
    expect(num('files.fp32.gzipBytes')).toBe(report.files.fp32.gzipBytes);
    report.latency.forEach((l, i) => expect(num(`latency.${i}.medianMs`)).toBe(l.medianMs));
    for (const t of report.tensors) {
      expect(num(`tensors.${t.name}.sparsity`)).toBe(t.sparsity);
      expect(num(`tensors.${t.name}.int8File.bytes`)).toBe(t.int8File.bytes);
    }
    // Self-contained: no script, nothing fetched.
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="https?:/);
    // Six charts and the test accuracies with their bootstrap intervals (error bars).
    expect((html.match(/<svg/g) ?? []).length).toBe(7);
  });

  it("draws the size chart from report.json's own sizes (bytes by part, whole-file gzip and brotli)", () => {
    const sizes = sizeBreakdown(report, runDir);
    expect(sizes.source).toMatch(/^report\.json/);
    for (const [key, file] of [
      ['teacher', 'teacher fp32'],
      ['fp32', 'fp32'],
      ['int8', 'int8'],
    ] as const) {
      const f = report.files[key]!;
      const bar = (encoding: string) => sizes.rows.filter((r) => r.file === file && r.encoding === encoding);
      // The raw bar's parts are report.json's and stack up to the file's bytes.
      expect(
        bar('raw').map((r) => r.bytes),
        file,
      ).toEqual([f.parts!.bytes.embeddings, f.parts!.bytes.encoderLinear, f.parts!.bytes.heads, f.parts!.bytes.other]);
      expect(
        bar('raw').reduce((a, r) => a + r.bytes, 0),
        file,
      ).toBe(f.bytes);
      expect(bar('gzip'), file).toEqual([{ file, encoding: 'gzip', part: WHOLE_FILE, bytes: f.gzipBytes }]);
      expect(bar('brotli'), file).toEqual([{ file, encoding: 'brotli', part: WHOLE_FILE, bytes: f.brotliBytes }]);
    }
  });

  it('splits each file into parts whose bytes add up to the file', () => {
    for (const f of ['model.fp32.onnx', 'model.int8.onnx']) {
      const parts = partBytesOfFile(join(runDir, f));
      const size = readFileSync(join(runDir, f)).length;
      const pieces = SIZE_PARTS.flatMap((p) => parts[p]);
      const sum = pieces.reduce((a, b) => a + b.length, 0);
      // Only each tensor's field tag and length prefix (a few bytes) are not counted.
      expect(size - sum, f).toBeGreaterThanOrEqual(0);
      expect(size - sum, f).toBeLessThan(8 * pieces.length);
      const enc = parts['encoder Linear'].reduce((a, b) => a + b.length, 0);
      expect(enc, f).toBeGreaterThan(0);
    }
  });
});

describe.skipIf(!chromium)(`in Chromium${chromium ? '' : ` (skipped: ${NO_CHROMIUM})`}`, () => {
  it("classifies the test split through the page's own code path with onnxruntime-node's predictions", () => {
    const m = measured!;
    expect(m.page.consoleErrors).toEqual([]);
    expect(m.browser.length).toBe(report.accuracy.examples);
    m.browser.forEach((b, i) => {
      expect(b.inputIds, `example ${i} token ids`).toEqual(m.node[i].inputIds);
      expect(b.index, `example ${i} prediction`).toBe(m.node[i].index);
      b.logits.forEach((v, j) => expect(Math.abs(v - m.node[i].logits[j]), `example ${i} logit ${j}`).toBeLessThan(1e-3));
    });
    const accuracy = m.browser.filter((b, i) => b.index === m.labels[i]).length / m.labels.length;
    expect(m.metrics.accuracy.browser).toBe(accuracy);
    expect(m.metrics.accuracy.agreement).toBe(1);
    // The pipeline's own ONNX Runtime evaluation (padded batches) gives the same accuracy.
    expect(accuracy).toBeCloseTo(report.accuracy.int8Ort!, 6);
  });

  it('records the in-browser figures and shows them in report.html and report.md', () => {
    const m = measured!.metrics;
    const onDisk = JSON.parse(readFileSync(join(runDir, BROWSER_METRICS_FILE), 'utf8'));
    expect(onDisk).toEqual(m);
    expect(m.download.brotliBytes).toBe(manifest.download.brotliBytes);
    expect(m.download.encodings['model.int8.onnx']).toBe('br');
    expect(m.download.transferredBytes).toBeGreaterThan(manifest.model.brotliBytes);
    // The first prediction comes after the session is made; the latencies are the per-example times' medians.
    expect(m.timeToFirstPredictionMs).toBeGreaterThanOrEqual(m.sessionCreateMs);
    const middle = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    expect(m.latency.browserMedianMs).toBe(middle(measured!.browser.map((b) => b.ms)));
    expect(m.latency.ortNodeMedianMs).toBe(middle(measured!.node.map((n) => n.ms)));
    const html = readFileSync(join(runDir, 'report.html'), 'utf8');
    expect(html).toContain('id="browser"');
    expect(html).toContain(`data-key="browser.accuracy.browser" data-value="${m.accuracy.browser}"`);
    expect(html).toContain(`data-key="browser.timeToFirstPredictionMs" data-value="${m.timeToFirstPredictionMs}"`);
    expect(readFileSync(join(runDir, 'report.md'), 'utf8')).toContain('## In the browser');
  });

  it('renders every chart of report.html without console errors, and saves screenshots', () => {
    const r = measured!.report!;
    expect(r.consoleErrors).toEqual([]);
    expect(r.figures).toBe(7);
    expect(r.charts.length).toBe(7);
    for (const c of r.charts) {
      expect(c.width).toBeGreaterThan(100);
      expect(c.height).toBeGreaterThan(100);
      expect(c.marks).toBeGreaterThan(20);
    }
    for (const shot of [measured!.page.screenshot, r.screenshot]) {
      const png = readFileSync(shot);
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect(png.length).toBeGreaterThan(20_000);
    }
  });

  it('is cross-origin isolated, so onnxruntime-web takes ?threads=N threads, with the same logits on 1 and 2', async () => {
    const { chromium: pw } = await import('playwright-core');
    const server = await serveBundle({ dir: bundleDir, port: 0 });
    const browser = await pw.launch({ executablePath: chromium!, args: CHROMIUM_ARGS.filter((a) => a !== '--headless') });
    try {
      const open = async (query: string) => {
        const page = await browser.newPage();
        await page.goto(`${server.url}${query}`);
        await page.evaluate(() => window.pruneOnce.ready);
        return page;
      };
      const [one, two] = [await open('?threads=1'), await open('?threads=2')];
      expect(await two.evaluate(() => self.crossOriginIsolated)).toBe(true);
      expect(await one.evaluate(() => window.pruneOnce.threads)).toBe(1);
      expect(await two.evaluate(() => window.pruneOnce.threads)).toBe(2);
      // Interleaved, text by text; the latencies are printed (tests assert no speed).
      const ms: Record<1 | 2, number[]> = { 1: [], 2: [] };
      for (let i = 0; i < 20; i++) {
        const text = `message ${i}: claim your free prize now, or see you at the meeting tomorrow`;
        const a = await one.evaluate((x) => window.pruneOnce.classify(x), text);
        const b = await two.evaluate((x) => window.pruneOnce.classify(x), text);
        a.logits.forEach((v, j) => expect(Math.abs(v - b.logits[j])).toBeLessThan(1e-4));
        ms[1].push(a.ms);
        ms[2].push(b.ms);
      }
      const med = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)].toFixed(2);
      process.stderr.write(`in Chromium, 20 requests each, interleaved: median ${med(ms[1])} ms on 1 thread, ${med(ms[2])} ms on 2\n`);
    } finally {
      await browser.close();
      await server.close();
    }
  }, 600_000);

  it('stops showing browser figures once the model changes', async () => {
    const copy = join(tempDir('prune-once-web-stale-'), 'run');
    mkdirSync(join(copy, 'web'), { recursive: true });
    for (const f of ['report.json', 'model.fp32.onnx', 'model.int8.onnx', BROWSER_METRICS_FILE]) writeFileSync(join(copy, f), readFileSync(join(runDir, f)));
    expect(await renderHtmlReport(copy)).toContain('id="browser"');
    // As if the run had been redone since: the figures name another file's checksum.
    const metrics = JSON.parse(readFileSync(join(copy, BROWSER_METRICS_FILE), 'utf8'));
    writeFileSync(join(copy, BROWSER_METRICS_FILE), JSON.stringify({ ...metrics, model: { ...metrics.model, sha256: '0'.repeat(64) } }));
    const html = await renderHtmlReport(copy);
    expect(html).not.toContain('id="browser"');
    expect(html).toContain('was measured on another model.int8.onnx');
    rmSync(copy, { recursive: true, force: true });
  });
});
