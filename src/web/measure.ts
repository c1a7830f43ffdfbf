/**
 * The int8 model in a real browser: serves a run's bundle on 127.0.0.1, opens it in headless
 * Chromium (driven by playwright-core), classifies the run's test split through the page's own
 * `window.pruneOnce.classify` (the text box's code path), and compares every prediction, logit and
 * token id with onnxruntime-node on the pipeline's own encoding. Writes web/browser-metrics.json,
 * refreshes report.html/report.md, checks that every chart of report.html renders, and saves
 * screenshots of both pages under <run>/web/screenshots/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodeExamples, loadTask, type TaskSpec } from '../data/index.js';
import type { Example } from '../data/types.js';
import { createSession } from '../onnx/index.js';
import { REPORTED } from '../pipeline/stages/report.js';
import { HTML_FILE } from '../report/html.js';
import { rewriteReportFiles } from '../report/write.js';
import { runFile } from '../run/layout.js';
import { resolveScope, type RunScope } from '../run/locate.js';
import { WordPieceTokenizer } from '../tokenizer/index.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { withTrackedWrites } from '../util/owned-dir.js';
import { argmax, median, quantile } from '../util/stats.js';
import { BUNDLE_MARKER, bundleRun, MODEL_FILE, modelFacts, ortWebDist, resolveVocab } from './bundle.js';
import { MANIFEST_FILE } from '../run/bundle-manifest.js';
import { BROWSER_METRICS_FILE, BROWSER_METRICS_SCHEMA, type BrowserMetrics } from '../run/browser-metrics.js';
import { sha256File } from '../util/fs.js';
import { serveBundle } from './serve.js';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';
/** Flags for a quiet, reproducible headless Chromium that makes no network request of its own. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The Chromium to drive: PRUNE_ONCE_CHROMIUM, else Debian's /usr/bin/chromium; null if absent. */
export function findChromium(explicit?: string): string | null {
  const p = explicit ?? process.env.PRUNE_ONCE_CHROMIUM ?? DEFAULT_CHROMIUM;
  return existsSync(p) ? p : null;
}

/** The full version (`chromium --version`); the user agent string only says 156.0.0.0. */
function chromiumVersion(path: string): string | null {
  try {
    return (
      /\d+\.\d+\.\d+\.\d+/.exec(execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'ignore'] }))?.[0] ?? null
    );
  } catch {
    return null;
  }
}

export interface MeasureOptions {
  runDir: string;
  /** In a multi-task run, the task whose model to measure (its directory may also be given as runDir). */
  task?: string;
  /** The bundle to serve; default `<run>/web` (made there if missing). */
  bundleDir?: string;
  chromium?: string;
  /** Classify at most this many test examples (default: all). */
  maxExamples?: number;
  log?: (line: string) => void;
}

export interface PageCheck {
  url: string;
  consoleErrors: string[];
  screenshot: string;
}

export interface MeasureResult {
  metrics: BrowserMetrics;
  metricsPath: string;
  labels: number[];
  browser: Array<{ index: number; logits: number[]; inputIds: number[]; ms: number }>;
  node: Array<{ index: number; logits: number[]; inputIds: number[]; ms: number }>;
  page: PageCheck;
  report: (PageCheck & { figures: number; charts: Array<{ width: number; height: number; marks: number }> }) | null;
}

type TaskJson = { kind: string; maxPerSplit?: number; train?: string; dev?: string; test?: string };
interface RunPipelineJson {
  pipeline: { seed: number; task: TaskJson; tasks?: Record<string, TaskJson> };
}

/** The run's task, as its pipeline.json describes it (the same spec the run context builds); a multi-task run's task from its `tasks:`. */
function runTestSplit(scope: RunScope): Example[] {
  const path = runFile(scope.runDir, 'pipeline');
  if (!existsSync(path))
    throw new Error(`${path} not found: measuring needs the run's pipeline.json to load its test split; give a directory written by \`prune-once run\``);
  const { pipeline: p } = JSON.parse(readFileSync(path, 'utf8')) as RunPipelineJson;
  const t = scope.task !== undefined ? p.tasks?.[scope.task] : p.task;
  if (!t)
    throw new Error(`${path}: no settings for task '${scope.task}' under tasks:; the run directory and its pipeline.json disagree (run the pipeline again)`);
  const spec: TaskSpec =
    t.kind === 'tsv' || t.kind === 'jsonl'
      ? { kind: t.kind, train: t.train!, dev: t.dev!, test: t.test, seed: p.seed }
      : { kind: t.kind as 'spam-assassin' | 'sotu-party', seed: p.seed, maxPerSplit: t.maxPerSplit };
  return loadTask(spec).test;
}

/** onnxruntime-node on the pipeline's encoding, one example at a time (as the page runs them). */
async function classifyInNode(scope: RunScope, examples: Example[]): Promise<MeasureResult['node']> {
  const modelPath = join(scope.dir, MODEL_FILE);
  const facts = modelFacts(modelPath);
  const tokenizer = new WordPieceTokenizer(resolveVocab(scope.runDir, facts), { lowercase: facts.lowercase, vocabSource: facts.vocabSource });
  const ort = await import('onnxruntime-node');
  const session = await createSession(modelPath);
  const out: MeasureResult['node'] = [];
  try {
    for (const ex of examples) {
      const t0 = performance.now();
      const e = encodeExamples(tokenizer, [{ ...ex, textPair: undefined }], facts.maxSequenceLength).examples[0];
      const dims = [1, e.inputIds.length];
      const int64 = (a: ArrayLike<number>) => new ort.Tensor('int64', BigInt64Array.from(Array.from(a, (v) => BigInt(v))), dims);
      const res = await session.run(
        { input_ids: int64(e.inputIds), attention_mask: int64(new Array<number>(e.inputIds.length).fill(1)), token_type_ids: int64(e.tokenTypeIds) },
        ['logits'],
      );
      const logits = Array.from(res.logits.data as Float32Array);
      out.push({ index: argmax(logits), logits, inputIds: Array.from(e.inputIds), ms: performance.now() - t0 });
    }
  } finally {
    await session.release();
  }
  return out;
}

export async function measureInBrowser(opts: MeasureOptions): Promise<MeasureResult> {
  // A task of a multi-task run is measured in its own directory, with its run's vocabulary and pipeline.
  const scope = resolveScope(opts.runDir, opts.task, 'bundle --measure').scope ?? { dir: resolve(opts.runDir), runDir: resolve(opts.runDir) };
  const runDir = scope.dir;
  const log = opts.log ?? (() => {});
  const chromiumPath = findChromium(opts.chromium);
  if (!chromiumPath) {
    throw new Error(
      `Chromium not found at ${opts.chromium ?? process.env.PRUNE_ONCE_CHROMIUM ?? DEFAULT_CHROMIUM}; install it (Debian: apt-get install chromium) or set PRUNE_ONCE_CHROMIUM to its path`,
    );
  }
  const bundleDir = resolve(opts.bundleDir ?? join(runDir, 'web'));
  if (!existsSync(join(bundleDir, MANIFEST_FILE))) await bundleRun({ runDir, outDir: bundleDir, log });
  const modelPath = join(runDir, MODEL_FILE);
  const bundled = join(bundleDir, MODEL_FILE);
  if (sha256File(bundled) !== sha256File(modelPath))
    throw new Error(`${bundled} is not the run's ${MODEL_FILE}; rebuild the bundle with \`prune-once bundle ${runDir} --out ${bundleDir}\``);
  let examples = runTestSplit(scope);
  if (examples.some((e) => e.textPair !== undefined))
    throw new Error(
      `${runDir}: the page classifies single texts, and this run's task has text pairs; measuring pair tasks in the browser is not supported yet`,
    );
  if (opts.maxExamples !== undefined) examples = examples.slice(0, opts.maxExamples);
  if (examples.length === 0) throw new Error(`${runDir}: the run's test split is empty; nothing to classify`);
  log(`measure: ${examples.length} test examples in onnxruntime-node`);
  const node = await classifyInNode(scope, examples);

  const { chromium } = await import('playwright-core');
  const server = await serveBundle({ dir: bundleDir, port: 0 });
  const userDataDir = mkdtempSync(join(tmpdir(), 'prune-once-chromium-'));
  const shots = join(runDir, 'web', 'screenshots');
  mkdirSync(shots, { recursive: true });
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: CHROMIUM_ARGS.filter((a) => a !== '--headless'),
      viewport: { width: 960, height: 900 },
    });
    try {
      const page = await context.newPage();
      const consoleErrors: string[] = [];
      const encodings: Record<string, string> = {};
      page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
      page.on('pageerror', (e) => consoleErrors.push(e.message));
      page.on('response', (r) => {
        const path = new URL(r.url()).pathname.slice(1) || 'index.html';
        encodings[path] = r.headers()['content-encoding'] ?? 'identity';
      });
      log(`measure: opening ${server.url} in ${chromiumPath}`);
      await page.goto(server.url);
      await page.evaluate(() => window.pruneOnce.ready);
      const browserVersion = chromiumVersion(chromiumPath) ?? (await page.evaluate(() => navigator.userAgent)).match(/Chrome\/([\d.]+)/)?.[1] ?? 'unknown';
      const timing = await page.evaluate(() => ({
        ttfp: window.pruneOnce.timeToFirstPredictionMs as number,
        session: window.pruneOnce.sessionCreateMs as number,
        transferred: [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')].reduce(
          (a, e) => a + ((e as PerformanceResourceTiming).transferSize ?? 0),
          0,
        ),
      }));
      log(`measure: first prediction after ${timing.ttfp.toFixed(0)} ms; classifying ${examples.length} examples in the page`);
      const browser = await page.evaluate(
        async (texts) => {
          const out: Array<{ index: number; logits: number[]; inputIds: number[]; ms: number }> = [];
          for (const t of texts) {
            const p = await window.pruneOnce.classify(t);
            out.push({ index: p.index, logits: p.logits, inputIds: p.inputIds, ms: p.ms });
          }
          return out;
        },
        examples.map((e) => e.text),
      );

      // What a visitor sees: a message typed into the box.
      await page.fill('#text', 'Dear friend, you have WON a cash prize! Reply with your bank details to claim it today.');
      await page.waitForFunction(() => document.querySelector('#latency')?.textContent?.includes('ms for this request'));
      await page.waitForTimeout(400);
      const pageShot = join(shots, 'page.png');
      await page.screenshot({ path: pageShot, fullPage: true });

      const labels = examples.map((e) => e.label);
      const correct = (preds: Array<{ index: number }>) => preds.reduce((a, p, i) => a + (p.index === labels[i] ? 1 : 0), 0) / preds.length;
      let agree = 0;
      let sameIds = 0;
      let maxLogitDiff = 0;
      browser.forEach((b, i) => {
        agree += b.index === node[i].index ? 1 : 0;
        sameIds += b.inputIds.length === node[i].inputIds.length && b.inputIds.every((v, j) => v === node[i].inputIds[j]) ? 1 : 0;
        b.logits.forEach((v, j) => (maxLogitDiff = Math.max(maxLogitDiff, Math.abs(v - node[i].logits[j]))));
      });
      const manifest = server.manifest;
      const metrics: BrowserMetrics = {
        schema: BROWSER_METRICS_SCHEMA,
        version: 1,
        measuredAt: new Date().toISOString(),
        model: { file: MODEL_FILE, bytes: statSync(modelPath).size, sha256: sha256File(modelPath) },
        browser: { name: 'Chromium', version: browserVersion },
        runtime: { name: 'onnxruntime-web', version: ortWebDist().version, backend: 'wasm', threads: await page.evaluate(() => window.pruneOnce.threads ?? 1) },
        download: {
          brotliBytes: manifest.download.brotliBytes,
          gzipBytes: manifest.download.gzipBytes,
          rawBytes: manifest.download.bytes,
          modelBrotliBytes: manifest.model.brotliBytes,
          transferredBytes: timing.transferred,
          encodings,
        },
        timeToFirstPredictionMs: timing.ttfp,
        sessionCreateMs: timing.session,
        latency: {
          browserMedianMs: median(browser.map((b) => b.ms)),
          browserP90Ms: quantile(
            browser.map((b) => b.ms),
            0.9,
          ),
          ortNodeMedianMs: median(node.map((n) => n.ms)),
          ortNodeP90Ms: quantile(
            node.map((n) => n.ms),
            0.9,
          ),
          ortNodeVersion: (await import('onnxruntime-node/package.json', { with: { type: 'json' } })).default.version as string,
        },
        accuracy: {
          split: 'test',
          examples: examples.length,
          browser: correct(browser),
          ortNode: correct(node),
          agreement: agree / examples.length,
          maxLogitDiff,
          sameTokenIds: sameIds / examples.length,
        },
      };
      const metricsPath = join(runDir, BROWSER_METRICS_FILE);
      writeJsonAtomic(metricsPath, metrics);

      // The report, now with the in-browser figures, in the run and in the bundle; then checked in the browser.
      let report: MeasureResult['report'] = null;
      if (existsSync(join(runDir, 'report.json'))) {
        await rewriteReportFiles(runDir, REPORTED);
        // Into the bundle as the bundle's own files (recorded in its manifest), never over a file of the user's.
        await withTrackedWrites(bundleDir, BUNDLE_MARKER, () => {
          for (const f of [HTML_FILE, 'report.md']) writeFileAtomic(join(bundleDir, f), readFileSync(join(runDir, f)));
        });
        report = await checkReport(context, `${server.url}${HTML_FILE}`, join(shots, 'report.png'));
      }
      return { metrics, metricsPath, labels, browser, node, page: { url: server.url, consoleErrors, screenshot: pageShot }, report };
    } finally {
      await context.close();
    }
  } finally {
    await server.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

type Context = Awaited<ReturnType<(typeof import('playwright-core'))['chromium']['launchPersistentContext']>>;

/** Opens report.html: console errors, and the size and mark count of each chart's SVG. */
async function checkReport(context: Context, url: string, screenshot: string): Promise<NonNullable<MeasureResult['report']>> {
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.goto(url, { waitUntil: 'load' });
  const found = await page.evaluate(() => ({
    figures: document.querySelectorAll('figure').length,
    charts: [...document.querySelectorAll('figure .chart')].map((c) => {
      const svg = c.querySelector('svg');
      const box = svg?.getBoundingClientRect();
      return { width: box?.width ?? 0, height: box?.height ?? 0, marks: svg ? svg.querySelectorAll('path, rect, line, text, circle').length : 0 };
    }),
  }));
  await page.screenshot({ path: screenshot, fullPage: true });
  await page.close();
  return { url, consoleErrors, screenshot, ...found };
}
