/**
 * Memory a training run can see: the wasm heap of every thread (the main thread's and each gradient
 * worker's; each has its own 32-bit heap, at most 4096 MB) and the process's peak RSS. Emscripten
 * grows a heap on demand and never shrinks it, so its size is its peak. When a heap passes
 * WARN_FRACTION of the limit, one warning names the setting that lowers it.
 */
import { rssPeakMb, wasmHeapMb } from '../util/memory.js';
import type { RecomputeMode } from '../model/recompute.js';

/** The largest heap the 32-bit wasm build can address, in MB (getHeapMax: 4294901760 bytes). */
export const WASM_HEAP_LIMIT_MB = 4096;
/** Warn above this share of the limit: the heap grows in steps, the next one may not fit. */
export const WARN_FRACTION = 0.8;

export interface TrainMemory {
  /** Peak wasm heap of the main thread, MB (absent on other backends). */
  wasmHeapMb?: number;
  /** Peak wasm heap of each gradient worker, MB. */
  workerWasmHeapMb: number[];
  /** Peak resident set size of the process (all threads), MB. */
  rssPeakMb: number;
}

export class MemoryWatch {
  private warned = false;
  private readonly workers: number[] = [];

  constructor(
    private readonly settings: { recompute: RecomputeMode; microBatch: number },
    private readonly warn: (message: string) => void,
  ) {}

  /** Records a worker's heap after its step (worker i, MB). */
  worker(i: number, heapMb: number | undefined): void {
    if (heapMb !== undefined) this.workers[i] = Math.max(this.workers[i] ?? 0, heapMb);
  }

  snapshot(): TrainMemory {
    const main = wasmHeapMb();
    return { ...(main !== undefined ? { wasmHeapMb: main } : {}), workerWasmHeapMb: [...this.workers], rssPeakMb: rssPeakMb() };
  }

  /** The largest heap, for the progress line ('' off wasm). */
  progressField(): string {
    const m = this.snapshot();
    if (m.wasmHeapMb === undefined) return '';
    return `${Math.round(Math.max(m.wasmHeapMb, ...m.workerWasmHeapMb))} MB`;
  }

  /** After a step: warns once when a thread's heap nears the limit. */
  check(): void {
    if (this.warned) return;
    const m = this.snapshot();
    if (m.wasmHeapMb === undefined) return;
    const threads: Array<[string, number]> = [['main thread', m.wasmHeapMb], ...m.workerWasmHeapMb.map((h, i): [string, number] => [`worker ${i + 1}`, h])];
    const [name, heap] = threads.reduce((a, b) => (b[1] > a[1] ? b : a));
    if (heap < WARN_FRACTION * WASM_HEAP_LIMIT_MB) return;
    this.warned = true;
    const fix =
      this.settings.recompute === 'none'
        ? "set train.recompute: layers (bench: --recompute layers) to keep only each layer's input, or lower train.microBatch"
        : `lower train.microBatch (bench: --micro-batch)${this.settings.microBatch ? ` below ${this.settings.microBatch}` : ''} or batchSize`;
    this.warn(
      `warning: the wasm heap of the ${name} is at ${Math.round(heap)} MB of its ${WASM_HEAP_LIMIT_MB} MB limit; ` +
        `if a step fails with "memory access out of bounds" or "Aborted()", ${fix}.`,
    );
  }
}

/** A stage result's memory figures: the main thread's and the largest worker's heap, peak RSS (MB). */
export function memoryMetrics(m: TrainMemory): Record<string, number> {
  return {
    ...(m.wasmHeapMb !== undefined ? { wasm_heap_peak_mb: m.wasmHeapMb } : {}),
    ...(m.workerWasmHeapMb.length ? { worker_wasm_heap_peak_mb: Math.max(...m.workerWasmHeapMb) } : {}),
    rss_peak_mb: m.rssPeakMb,
  };
}
