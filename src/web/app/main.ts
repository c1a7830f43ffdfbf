/**
 * The page's code (bundled by esbuild into app.js): loads manifest.json, the vocabulary and the int8
 * model from beside the page, runs it with onnxruntime-web's wasm backend, and classifies the text box.
 * `window.pruneOnce.classify` is the function the text box calls; the browser test calls it too.
 */
import * as ort from 'onnxruntime-web/wasm';
import { type BundleManifest, formatBytes, MANIFEST_FILE, ORT_DIR } from '../../run/bundle-manifest.js';
import { argmax, encodeText, softmax, threadCount, tokenizerFromVocabText } from './classify.js';

export interface Prediction {
  label: string;
  index: number;
  probabilities: number[];
  logits: number[];
  inputIds: number[];
  truncated: boolean;
  /** Tokenization plus inference, in milliseconds. */
  ms: number;
}

export interface PruneOnceApi {
  /** Resolves when the model is loaded and the first prediction is shown; rejects if loading failed. */
  ready: Promise<void>;
  manifest?: BundleManifest;
  classify(text: string): Promise<Prediction>;
  /** Milliseconds from navigation start to the first prediction shown (page, runtime and model download included). */
  timeToFirstPredictionMs?: number;
  /** Milliseconds spent creating the ONNX Runtime session (wasm compile + model load). */
  sessionCreateMs?: number;
  /** onnxruntime-web's wasm threads (1 unless the page is cross-origin isolated). */
  threads?: number;
}

declare global {
  interface Window {
    pruneOnce: PruneOnceApi;
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

async function fetchOk(path: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path);
  } catch (e) {
    const fix =
      location.protocol === 'file:'
        ? ' Browsers do not let a page opened from file:// fetch its files: serve the folder (`prune-once serve <folder>`, or any static web server).'
        : '';
    throw new Error(`could not fetch ${path} (${(e as Error).message}).${fix}`);
  }
  if (!res.ok)
    throw new Error(
      `could not fetch ${path}: HTTP ${res.status}; is this folder a complete prune-once bundle? (rebuild it with \`prune-once bundle <run> --out <folder>\`)`,
    );
  return res;
}

function showError(e: unknown): void {
  const box = $('error');
  box.style.display = 'block';
  box.textContent = `error: ${(e as Error).message ?? String(e)}`;
  $('status').textContent = 'failed';
  console.error(e);
}

function renderFacts(m: BundleManifest, extra: Array<[string, string]>): void {
  const dl = $('facts');
  dl.replaceChildren();
  const rows: Array<[string, string | Node]> = [
    ['model', `${m.model.path}: ${formatBytes(m.model.brotliBytes)} download (brotli), ${formatBytes(m.model.bytes)} on disk`],
    [
      'whole page, first visit',
      `${formatBytes(m.download.brotliBytes)} brotli (${formatBytes(m.download.gzipBytes)} gzip, ${formatBytes(m.download.bytes)} raw), of which the ONNX Runtime wasm ${formatBytes(m.files.filter((f) => f.path.startsWith(ORT_DIR)).reduce((a, f) => a + f.brotliBytes, 0))}`,
    ],
    [
      'encoder sparsity',
      Number.isFinite(m.model.encoderSparsity) ? `${(m.model.encoderSparsity * 100).toFixed(1)}% of the encoder's Linear weights are zero` : 'n/a',
    ],
    ['quantization', m.model.quantization || m.model.format],
    ['labels', m.labels.join(', ')],
    [
      'tokenizer',
      `WordPiece, ${m.vocab.entries.toLocaleString('en-US')} entries${m.vocab.lowercase ? ', lower-cased' : ''}, ${m.maxSequenceLength} tokens max`,
    ],
    ['runtime', `onnxruntime-web ${m.runtime.version}, ${m.runtime.backend} backend, 1 thread`],
    ...extra,
    ['made by', `prune-once ${m.tool.version}, run '${m.run.name}'`],
  ];
  if (m.report.html) {
    const a = document.createElement('a');
    a.href = m.report.html;
    a.textContent = 'the compression report (charts, per-layer sparsity, sizes)';
    rows.push(['report', a]);
  }
  for (const [k, v] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.append(v);
    dl.append(dt, dd);
  }
}

function renderPrediction(p: Prediction, labels: string[]): void {
  $('label').textContent = p.label;
  const bars = $('bars');
  bars.replaceChildren();
  labels.forEach((name, i) => {
    const row = document.createElement('div');
    row.className = 'bar';
    const n = document.createElement('span');
    n.textContent = name;
    const track = document.createElement('div');
    track.className = 'track';
    const fill = document.createElement('div');
    fill.className = i === p.index ? 'fill top' : 'fill';
    fill.style.width = `${(p.probabilities[i] * 100).toFixed(1)}%`;
    track.append(fill);
    const v = document.createElement('span');
    v.className = 'num';
    v.textContent = `${(p.probabilities[i] * 100).toFixed(1)}%`;
    row.append(n, track, v);
    bars.append(row);
  });
  $('latency').textContent =
    `${p.ms.toFixed(1)} ms for this request (tokenization + inference), ${p.inputIds.length} tokens${p.truncated ? " (text cut to the model's length)" : ''}`;
}

async function start(api: PruneOnceApi): Promise<void> {
  const manifest = (await (await fetchOk(MANIFEST_FILE)).json()) as BundleManifest;
  api.manifest = manifest;
  renderFacts(manifest, []);
  ort.env.wasm.wasmPaths = new URL(ORT_DIR, location.href).href;
  // Threads need a cross-origin-isolated page (`prune-once serve` sends the headers; a plain static
  // host may not): then half the cores (at most 4), or ?threads=N; otherwise one.
  api.threads = threadCount(self.crossOriginIsolated, navigator.hardwareConcurrency, new URLSearchParams(location.search).get('threads'));
  ort.env.wasm.numThreads = api.threads;
  const [vocabText, modelBytes] = await Promise.all([
    fetchOk(manifest.vocab.path).then((r) => r.text()),
    fetchOk(manifest.model.path).then((r) => r.arrayBuffer()),
  ]);
  const tokenizer = tokenizerFromVocabText(vocabText, { lowercase: manifest.vocab.lowercase, source: manifest.vocab.source });
  if (tokenizer.vocabSize !== manifest.vocab.entries)
    throw new Error(`${manifest.vocab.path} has ${tokenizer.vocabSize} entries, the manifest says ${manifest.vocab.entries}; rebuild the bundle`);
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(new Uint8Array(modelBytes), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  api.sessionCreateMs = performance.now() - t0;

  api.classify = async (text: string): Promise<Prediction> => {
    const start = performance.now();
    const enc = encodeText(tokenizer, text, manifest.maxSequenceLength);
    const dims = [1, enc.inputIds.length];
    const int64 = (a: ArrayLike<number>) => new ort.Tensor('int64', BigInt64Array.from(Array.from(a, (v) => BigInt(v))), dims);
    const out = await session.run(
      { input_ids: int64(enc.inputIds), attention_mask: int64(new Array<number>(enc.inputIds.length).fill(1)), token_type_ids: int64(enc.tokenTypeIds) },
      ['logits'],
    );
    const logits = Array.from(out.logits.data as Float32Array);
    const ms = performance.now() - start;
    const index = argmax(logits);
    return { label: manifest.labels[index], index, probabilities: softmax(logits), logits, inputIds: Array.from(enc.inputIds), truncated: enc.truncated, ms };
  };

  const box = $<HTMLTextAreaElement>('text');
  const button = $<HTMLButtonElement>('go');
  const status = $('status');
  let pending = 0;
  const run = async () => {
    const mine = ++pending;
    try {
      const p = await api.classify(box.value);
      if (mine === pending) renderPrediction(p, manifest.labels); // a later keystroke's result wins
    } catch (e) {
      showError(e);
    }
  };
  let timer: number | undefined;
  box.addEventListener('input', () => {
    clearTimeout(timer);
    timer = window.setTimeout(() => void run(), 150);
  });
  button.addEventListener('click', () => void run());

  await run();
  api.timeToFirstPredictionMs = performance.now();
  button.disabled = false;
  status.textContent = 'ready: type to classify';
  renderFacts(manifest, [
    [
      'time to first prediction',
      `${(api.timeToFirstPredictionMs / 1000).toFixed(2)} s after the page was opened (download, wasm compile, session ${api.sessionCreateMs.toFixed(0)} ms, first run)`,
    ],
  ]);
}

const api: PruneOnceApi = {
  ready: Promise.resolve(),
  classify: () => Promise.reject(new Error('the model is not loaded yet; await window.pruneOnce.ready first')),
};
window.pruneOnce = api;
api.ready = start(api);
api.ready.catch(showError);
