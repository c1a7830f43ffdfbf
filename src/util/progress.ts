/**
 * Progress of long work: a cli-progress bar on a terminal (step, loss, tokens/s, ETA); on a pipe or
 * in CI, one plain line every few seconds instead of bar redraws.
 */
import cliProgress from 'cli-progress';

export interface ProgressFields {
  [key: string]: string | number;
}

export interface Progress {
  update(value: number, fields?: ProgressFields): void;
  stop(): void;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

export function startProgress(label: string, total: number, opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return { update() {}, stop() {} };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} |{bar}| {value}/{total} | loss {loss} | {tps} tok/s{heapPart} | ETA {eta_formatted}`,
        stream,
        hideCursor: true,
        etaBuffer: 20,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { loss: '-', tps: '-', heapPart: '' });
    // The wasm heap (training loop's `heap` field), when there is one.
    return { update: (v, f) => bar.update(v, { ...f, heapPart: f?.heap ? ` | heap ${f.heap}` : '' }), stop: () => bar.stop() };
  }
  const start = Date.now();
  let lastPrint = 0;
  let last = 0;
  let lastFields: ProgressFields = {};
  const print = (v: number) => {
    const elapsed = (Date.now() - start) / 1000;
    const eta = v > 0 ? (elapsed / v) * (total - v) : Infinity;
    const extra = Object.entries(lastFields)
      .map(([k, x]) => `${k} ${x}`)
      .join(' | ');
    stream.write(`${label} ${v}/${total}${extra ? ` | ${extra}` : ''} | elapsed ${formatEta(elapsed)} | ETA ${formatEta(eta)}\n`);
  };
  return {
    update(v, f) {
      last = v;
      if (f) lastFields = f;
      const now = Date.now();
      if (now - lastPrint > 10_000 || v === total) {
        lastPrint = now;
        print(v);
      }
    },
    stop() {
      if (last !== total && lastPrint !== 0) print(last);
    },
  };
}
