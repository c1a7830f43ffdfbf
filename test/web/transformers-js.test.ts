/**
 * The transformers.js model folder in a real browser: transformers.js's web build (its bundled
 * onnxruntime-web, wasm served from this repository's node_modules) in headless Chromium loads the
 * smoke run's folder from localhost, and its labels and scores (q8 and fp32) are `predict`'s within
 * 1e-4 on the test split and hard text, its token ids prune-once's on 1,000+ texts; nothing is
 * fetched from anywhere but the test's server. Skips, saying why, where Chromium is absent.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportTransformersJs } from '../../src/export/transformers-js.js';
import { predict, resolvePredictModel } from '../../src/predict/index.js';
import { CHROMIUM_ARGS, findChromium } from '../../src/web/measure.js';
import { HARD_TEXTS, smokeTestSplit, tokenizerSample } from '../export/tfjs-fixtures.js';
import { tempDir, useTestBackend } from '../helpers.js';
import { smokeRunCopy } from '../shared-runs.js';

const chromium = findChromium();
const NO_CHROMIUM = `Chromium not found at ${process.env.PRUNE_ONCE_CHROMIUM ?? '/usr/bin/chromium'} (Debian: apt-get install chromium)`;
if (!chromium) process.stderr.write(`skipping the transformers.js browser tests: ${NO_CHROMIUM}\n`);

const TFJS_DIST = resolve('node_modules/@huggingface/transformers/dist');
const ORT_DIST = resolve('node_modules/@huggingface/transformers/node_modules/onnxruntime-web/dist');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.md': 'text/markdown',
};

const PAGE = `<!doctype html><meta charset="utf-8"><title>transformers.js</title>
<script type="module">
import { pipeline, env, AutoTokenizer } from '/tfjs/transformers.js';
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = '/models/';
env.backends.onnx.wasm.wasmPaths = { mjs: '/ort/ort-wasm-simd-threaded.asyncify.mjs', wasm: '/ort/ort-wasm-simd-threaded.asyncify.wasm' };
env.backends.onnx.wasm.numThreads = 1;
window.classify = async (dtype, texts) => {
  const clf = await pipeline('text-classification', 'smoke', { dtype, device: 'wasm' });
  const out = await clf(texts, { top_k: null });
  await clf.dispose();
  return out.map((rows) => ({ label: rows[0].label, scores: Object.fromEntries(rows.map((r) => [r.label, r.score])) }));
};
window.tokenize = async (texts) => {
  const tok = await AutoTokenizer.from_pretrained('smoke');
  return texts.map((t) => tok.encode(t));
};
window.ready = true;
</script>`;

/** Serves the page, transformers.js's dist, onnxruntime-web's dist and the model folder. */
function serve(modelDir: string): Promise<{ server: Server; url: string }> {
  const mounts: Array<[string, string]> = [
    ['/tfjs/', TFJS_DIST],
    ['/ort/', ORT_DIST],
    ['/models/smoke/', modelDir],
  ];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/') {
      res.writeHead(200, { 'Content-Type': TYPES['.html'] }).end(PAGE);
      return;
    }
    const mount = mounts.find(([prefix]) => path.startsWith(prefix));
    const file = mount ? normalize(join(mount[1], path.slice(mount[0].length))) : '';
    if (!mount || !file.startsWith(mount[1] + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` })));
}

type Answers = Array<{ label: string; scores: Record<string, number> }>;
let folder = '';
let runDir = '';
let served: { server: Server; url: string } | null = null;
let closeBrowser: (() => Promise<void>) | null = null;
let page: import('playwright-core').Page;
const offsite: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!chromium) return;
  await useTestBackend();
  const root = tempDir('prune-once-tfjs-web-');
  // A copy of the smoke run the smoke and browser tests share (test/shared-runs.ts).
  runDir = await smokeRunCopy();
  folder = exportTransformersJs(runDir, join(root, 'model')).dir;
  served = await serve(folder);
  const { chromium: pw } = await import('playwright-core');
  const browser = await pw.launch({ executablePath: chromium, headless: true, args: CHROMIUM_ARGS.filter((a) => a !== '--headless') });
  closeBrowser = () => browser.close();
  page = await browser.newPage();
  // Nothing may come from a CDN: every request off the test's server is refused and recorded.
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(served!.url)) return route.continue();
    offsite.push(url);
    return route.abort();
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(served.url);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
}, 600_000);

afterAll(async () => {
  await closeBrowser?.();
  served?.server.close();
});

describe.skipIf(!chromium)('transformers.js web build in Chromium', () => {
  for (const dtype of ['q8', 'fp32'] as const) {
    it(`(${dtype}) gives predict's labels and scores within 1e-4 on the test split and hard text`, async () => {
      const texts = [...smokeTestSplit().map((e) => e.text), ...HARD_TEXTS];
      const model = resolvePredictModel(folder);
      const ours = await predict({ ...model, onnxPath: join(runDir, dtype === 'q8' ? 'model.int8.onnx' : 'model.fp32.onnx') }, texts);
      const theirs = await page.evaluate(([d, t]) => (window as unknown as { classify: (d: string, t: string[]) => Promise<Answers> }).classify(d, t), [
        dtype,
        texts,
      ] as const);
      expect(theirs).toHaveLength(texts.length);
      let maxDiff = 0;
      ours.forEach((p, i) => {
        expect(theirs[i].label, `text ${i}`).toBe(p.label);
        for (const [label, score] of Object.entries(p.scores)) maxDiff = Math.max(maxDiff, Math.abs(theirs[i].scores[label] - score));
      });
      expect(maxDiff).toBeLessThan(1e-4);
      process.stdout.write(`Chromium transformers.js ${dtype} vs predict: ${texts.length} texts, max score difference ${maxDiff.toExponential(2)}\n`);
      expect(offsite).toEqual([]);
      expect(pageErrors).toEqual([]);
    });
  }

  it("gives prune-once's token ids on 1,000+ texts", async () => {
    const texts = tokenizerSample();
    const { tokenizer } = resolvePredictModel(folder);
    const ids = await page.evaluate((t) => (window as unknown as { tokenize: (t: string[]) => Promise<number[][]> }).tokenize(t), texts);
    texts.forEach((t, i) =>
      expect(ids[i], `text ${i}: ${JSON.stringify(t.slice(0, 80))}`).toEqual([tokenizer.special.cls, ...tokenizer.encode(t), tokenizer.special.sep]),
    );
    expect(offsite).toEqual([]);
  });
});
