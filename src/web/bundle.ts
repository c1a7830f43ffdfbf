/**
 * `prune-once bundle`: a run's int8 model as a static web page that classifies text in the browser
 * with onnxruntime-web (wasm). The folder holds everything the page needs (app, runtime wasm, model,
 * vocabulary, manifest, the run's report), so it works offline from any static server; each file also
 * gets precompressed `.br` and `.gz` siblings, which `serve` sends and whose sizes the manifest gives.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { inspectOnnxFile } from '../onnx/index.js';
import { REPORTED } from '../pipeline/stages/report.js';
import { rewriteReportFiles } from '../report/write.js';
import { resolveScope, type RunScope } from '../run/locate.js';
import { recordedTokenizer, savedRunTokenizer } from '../run/tokenizer.js';
import { loadVocabFile } from '../tokenizer/index.js';
import { writeJsonAtomic } from '../util/fs.js';
import { installOwned, NotOwnedError } from '../util/owned-dir.js';
import { TOOL_VERSION } from '../version.js';
import { brotli, DEFAULT_BROTLI_QUALITY, gzipMax } from '../util/compress.js';
import { type BundleManifest, type FileSizes, MANIFEST_FILE, MANIFEST_SCHEMA, MANIFEST_VERSION, MODEL_FILE, ORT_DIR } from '../run/bundle-manifest.js';

export { MODEL_FILE };
import { renderIndexHtml } from './page.js';

export const VOCAB_FILE = 'vocab.txt';
export const APP_FILE = 'app.js';
/** onnxruntime-web's single-threaded-capable wasm build (threads need cross-origin isolation, which a plain static host lacks). */
export const ORT_FILES = ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];
const REPORT_FILES = ['report.html', 'report.md', 'report.json'] as const;
/** What `bundle --measure` keeps in <run>/web besides the bundle: never the bundle's, so never deleted or replaced by it. */
const MEASUREMENTS = ['browser-metrics.json', 'screenshots'];
/** The bundle folder's marker and manifest (src/util/owned-dir.ts): the files bundle wrote, with size and sha256. */
export const BUNDLE_MARKER = '.prune-once-bundle';
const NOTE = 'this folder holds a web bundle written by prune-once bundle; `files` lists what it wrote (size, sha256): a new bundle replaces only those';

export interface BundleOptions {
  runDir: string;
  /** In a multi-task run, the task whose model to bundle (its directory may also be given as runDir). */
  task?: string;
  /** Default: `<runDir>/web` (a task's: `<run>/tasks/<task>/web`). */
  outDir?: string;
  /** A vocab.txt to use when the run has none and the model's metadata names none that exists here. */
  vocabFile?: string;
  brotliQuality?: number;
  log?: (message: string) => void;
  /** Write into a folder that is not empty and not a bundle's (never deleting or replacing a file of its own). */
  forceInto?: boolean;
}

export interface BundleResult {
  outDir: string;
  manifest: BundleManifest;
}

const require = createRequire(import.meta.url);

/** onnxruntime-web's `dist/` directory and version. */
export function ortWebDist(): { dir: string; version: string } {
  const dir = dirname(require.resolve('onnxruntime-web'));
  const version = (JSON.parse(readFileSync(join(dir, '..', 'package.json'), 'utf8')) as { version: string }).version;
  return { dir, version };
}

/** The browser app's entry: the TypeScript source when running from src/, the compiled file from dist/. */
function appEntry(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const f of ['app/main.ts', 'app/main.js']) if (existsSync(join(here, f))) return join(here, f);
  throw new Error(`the browser app's source is missing next to ${here} (app/main.ts or app/main.js); reinstall prune-once`);
}

/** The app (tokenizer, encoding, page logic and onnxruntime-web's JS) as one minified ES module. */
export async function buildApp(): Promise<Uint8Array> {
  const result = await build({
    entryPoints: [appEntry()],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    write: false,
    legalComments: 'none',
    // ort.wasm.min.mjs, which loads its wasm from ort/ beside the page instead of inlining it.
    conditions: ['onnxruntime-web-use-extern-wasm'],
    logLevel: 'silent',
  });
  return result.outputFiles[0].contents;
}

interface ModelFacts {
  labels: string[];
  maxSequenceLength: number;
  lowercase: boolean;
  vocabSource: string;
  format: string;
  quantization: string;
  encoderSparsity: number;
}

export function modelFacts(path: string): ModelFacts {
  const md = inspectOnnxFile(path).metadata;
  const field = (k: string, fix: string): string => {
    const v = md[k];
    if (v === undefined || v === '') throw new Error(`${path}: metadata '${k}' is missing; ${fix}`);
    return v;
  };
  const reexport = 're-export it with this version of prune-once (`prune-once export <run> --format int8`)';
  let labels: unknown;
  let tokenizer: { lowercase?: boolean; vocabSource?: string };
  try {
    labels = JSON.parse(field('labels', `the page needs the class names; ${reexport}`));
    tokenizer = JSON.parse(field('tokenizer', `the page needs the tokenizer settings; ${reexport}`)) as typeof tokenizer;
  } catch (e) {
    if (e instanceof SyntaxError) throw new Error(`${path}: metadata 'labels' or 'tokenizer' is not JSON (${e.message}); ${reexport}`);
    throw e;
  }
  if (!Array.isArray(labels) || labels.length < 2 || labels.some((l) => typeof l !== 'string')) {
    throw new Error(`${path}: metadata 'labels' must be a JSON array of at least two class names, got ${JSON.stringify(labels)}; ${reexport}`);
  }
  const seq = Number(field('max_sequence_length', `the page needs the sequence length; ${reexport}`));
  if (!Number.isInteger(seq) || seq < 4) throw new Error(`${path}: metadata 'max_sequence_length' is ${md.max_sequence_length}, expected an integer >= 4`);
  return {
    labels: labels as string[],
    maxSequenceLength: seq,
    lowercase: tokenizer.lowercase ?? true,
    vocabSource: tokenizer.vocabSource ?? 'unknown',
    format: md.format ?? 'int8',
    quantization: md.quantization ?? '',
    encoderSparsity: Number(md.encoder_sparsity ?? NaN),
  };
}

/**
 * The run's vocabulary, id for id: `--vocab`, else `<run>/vocab.txt` (corpus-subset runs; in a
 * multi-task run, `runDir` is the run directory, not the task's), else the run's tokenizer by its own
 * rule (its pipeline.json), else the one the model's metadata names (BERT uncased, or a vocab file
 * that still exists).
 */
export function resolveVocab(runDir: string, facts: ModelFacts, vocabFile?: string): string[] {
  if (vocabFile) return loadVocabFile(vocabFile);
  const inRun = join(runDir, VOCAB_FILE);
  if (existsSync(inRun)) return loadVocabFile(inRun);
  const found = savedRunTokenizer(runDir) ?? recordedTokenizer({ vocabSource: facts.vocabSource, lowercase: facts.lowercase });
  if (found) return [...found.vocab];
  throw new Error(
    `${runDir}: no ${VOCAB_FILE} in the run, and the model's tokenizer metadata names '${facts.vocabSource}', which is not a file here; pass the run's vocabulary with --vocab <vocab.txt>`,
  );
}

/** Reads `<run>/pipeline.json` for the run's name (and the task's, in a multi-task run), or falls back to the directory name. */
function runName(scope: RunScope): string {
  try {
    const p = JSON.parse(readFileSync(join(scope.runDir, 'pipeline.json'), 'utf8')) as { pipeline?: { name?: string } };
    if (p.pipeline?.name) return scope.task !== undefined ? `${p.pipeline.name} ${scope.task}` : p.pipeline.name;
  } catch {
    /* not a pipeline run (e.g. an exported folder): the directory name will do */
  }
  return basename(resolve(scope.dir));
}

/**
 * Where `bundle` may write (the rule is src/util/owned-dir.ts): a new or empty folder, one carrying
 * the bundle marker (where it replaces only the files it wrote), or, with --force-into, any other
 * folder, where it adds its files and replaces none of the user's. Never the run directory, the
 * working directory or a parent of either, nor the root: those are nobody's bundle.
 */
function checkOutDir(outDir: string, runDir: string, forceInto: boolean): void {
  const cwd = process.cwd();
  const within = (a: string, b: string) => a === b || a.startsWith(b.endsWith(sep) ? b : b + sep);
  const fix = 'give --out a new folder, e.g. --out web';
  if (within(runDir, outDir)) throw new NotOwnedError(`--out ${outDir} is the run directory or one of its parents; ${fix} (the default is <run>/web)`);
  if (within(cwd, outDir)) throw new NotOwnedError(`--out ${outDir} is the working directory or one of its parents; ${fix}`);
  if (!existsSync(outDir)) return;
  if (!statSync(outDir).isDirectory()) throw new NotOwnedError(`${outDir}: exists and is a file; ${fix}`);
  if (forceInto || existsSync(join(outDir, BUNDLE_MARKER))) return;
  if (readdirSync(outDir).some((f) => !MEASUREMENTS.includes(f))) {
    const older = existsSync(join(outDir, MANIFEST_FILE)) ? ` (if it is a bundle of an older prune-once, delete it yourself)` : '';
    throw new NotOwnedError(
      `${outDir}: not empty and not made by prune-once bundle (no ${BUNDLE_MARKER} marker), so nothing in it is deleted or replaced${older}; give --out a new folder, or add --force-into to write the bundle's files beside yours (it never deletes or replaces one of yours)`,
    );
  }
}

export async function bundleRun(opts: BundleOptions): Promise<BundleResult> {
  const given = resolve(opts.runDir);
  const log = opts.log ?? (() => {});
  const quality = opts.brotliQuality ?? DEFAULT_BROTLI_QUALITY;
  if (!Number.isInteger(quality) || quality < 0 || quality > 11) throw new Error(`--brotli-quality must be an integer 0..11, got ${opts.brotliQuality}`);
  if (!existsSync(given) || !statSync(given).isDirectory())
    throw new Error(`${given}: no such run directory; give the directory a pipeline run wrote (e.g. artifacts/prune-once)`);
  // A multi-task run: one task's page (--task); the task's vocabulary and pipeline are its run's.
  const scope = resolveScope(opts.runDir, opts.task, 'bundle').scope ?? { dir: given, runDir: given };
  const runDir = scope.dir;
  const outDir = resolve(opts.outDir ?? join(runDir, 'web'));
  const modelPath = join(runDir, MODEL_FILE);
  if (!existsSync(modelPath)) {
    throw new Error(
      `${modelPath} not found: bundle needs the run's int8 model; finish the run (\`prune-once run <pipeline.yaml>\` writes it in its export stage) or write it with \`prune-once export ${runDir} --format int8\``,
    );
  }
  checkOutDir(outDir, runDir, opts.forceInto ?? false);
  const facts = modelFacts(modelPath);
  const vocab = resolveVocab(scope.runDir, facts, opts.vocabFile);
  const ort = ortWebDist();

  // Everything is written to a sibling staging directory whose files go into outDir only when
  // complete, so a failure leaves neither a half bundle nor temporary files behind.
  const stage = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  try {
    mkdirSync(join(stage, ORT_DIR), { recursive: true });
    log(`bundle: building the app with esbuild`);
    writeFileSync(join(stage, APP_FILE), await buildApp());
    for (const f of ORT_FILES) cpSync(join(ort.dir, f), join(stage, ORT_DIR, f));
    cpSync(modelPath, join(stage, MODEL_FILE));
    writeFileSync(join(stage, VOCAB_FILE), `${vocab.join('\n')}\n`);
    const name = runName(scope);
    writeFileSync(join(stage, 'index.html'), renderIndexHtml({ title: `${name} · prune-once` }));
    const report: BundleManifest['report'] = {};
    if (existsSync(join(runDir, 'report.json'))) {
      try {
        await rewriteReportFiles(runDir, REPORTED);
      } catch (e) {
        if (!(e instanceof NotOwnedError)) throw e;
        log(`bundle: report.html not rewritten: ${e.message}`);
      }
      for (const f of REPORT_FILES) {
        if (!existsSync(join(runDir, f))) continue;
        cpSync(join(runDir, f), join(stage, f));
        report[f === 'report.html' ? 'html' : f === 'report.md' ? 'markdown' : 'json'] = f;
      }
    }

    const pageFiles = ['index.html', APP_FILE, ...ORT_FILES.map((f) => `${ORT_DIR}${f}`), MODEL_FILE, VOCAB_FILE];
    log(`bundle: compressing ${pageFiles.length} files (brotli quality ${quality}, gzip -9); onnxruntime-web's wasm takes longest`);
    const sizes = await Promise.all(
      pageFiles.map(async (path): Promise<FileSizes> => {
        const data = readFileSync(join(stage, path));
        const [br, gz] = await Promise.all([brotli(data, quality), gzipMax(data)]);
        writeFileSync(join(stage, `${path}.br`), br);
        writeFileSync(join(stage, `${path}.gz`), gz);
        return { path, bytes: data.length, gzipBytes: gz.length, brotliBytes: br.length };
      }),
    );
    const size = (p: string) => sizes.find((s) => s.path === p)!;
    const sum = (k: 'bytes' | 'gzipBytes' | 'brotliBytes') => sizes.reduce((a, s) => a + s[k], 0);
    const manifest: BundleManifest = {
      schema: MANIFEST_SCHEMA,
      version: MANIFEST_VERSION,
      tool: { name: 'prune-once', version: TOOL_VERSION },
      run: { name, createdAt: new Date().toISOString() },
      model: { ...size(MODEL_FILE), format: facts.format, quantization: facts.quantization, encoderSparsity: facts.encoderSparsity, ...modelTotals(runDir) },
      vocab: { ...size(VOCAB_FILE), entries: vocab.length, lowercase: facts.lowercase, source: facts.vocabSource },
      labels: facts.labels,
      maxSequenceLength: facts.maxSequenceLength,
      runtime: { name: 'onnxruntime-web', version: ort.version, backend: 'wasm', files: ORT_FILES.map((f) => `${ORT_DIR}${f}`) },
      files: sizes,
      download: { bytes: sum('bytes'), gzipBytes: sum('gzipBytes'), brotliBytes: sum('brotliBytes'), brotliQuality: quality },
      report,
    };
    writeJsonAtomic(join(stage, MANIFEST_FILE), manifest);
    // Replaces only the previous bundle's files; anything else there (browser measurements, the user's files) stays.
    installOwned(stage, outDir, BUNDLE_MARKER, NOTE);
    rmSync(stage, { recursive: true, force: true });
    return { outDir, manifest };
  } catch (e) {
    rmSync(stage, { recursive: true, force: true });
    throw e;
  }
}

/** Parameter and non-zero counts of the whole model, from report.json when the run has one. */
function modelTotals(runDir: string): { params: number | null; nonZeros: number | null } {
  try {
    const r = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8')) as { totals?: { model?: { params: number; nonZeros: number } } };
    return { params: r.totals?.model?.params ?? null, nonZeros: r.totals?.model?.nonZeros ?? null };
  } catch {
    return { params: null, nonZeros: null };
  }
}
