import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryWatch, memoryMetrics, WARN_FRACTION, WASM_HEAP_LIMIT_MB } from '../../src/train/memory-watch.js';
import { useTestBackend } from '../helpers.js';

beforeAll(async () => {
  await useTestBackend();
});

describe('memory a training run can see', () => {
  it("reports every thread's heap and warns once, naming the setting that helps", () => {
    if (tf.getBackend() !== 'wasm') return;
    const warnings: string[] = [];
    const watch = new MemoryWatch({ recompute: 'none', microBatch: 0 }, (m) => warnings.push(m));
    watch.worker(0, 900);
    watch.worker(0, 700);
    watch.check();
    expect(warnings).toEqual([]);
    const m = watch.snapshot();
    expect(m.workerWasmHeapMb).toEqual([900]);
    expect(m.wasmHeapMb).toBeGreaterThan(0);
    expect(m.rssPeakMb).toBeGreaterThan(m.wasmHeapMb!);
    expect(memoryMetrics(m)).toEqual({ wasm_heap_peak_mb: m.wasmHeapMb, worker_wasm_heap_peak_mb: 900, rss_peak_mb: m.rssPeakMb });
    const near = Math.ceil(WARN_FRACTION * WASM_HEAP_LIMIT_MB) + 10;
    watch.worker(1, near);
    watch.check();
    watch.check();
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toContain(`worker 2 is at ${near} MB of its 4096 MB limit`);
    expect(warnings[0]).toContain('train.recompute: layers');
    const recomputing = new MemoryWatch({ recompute: 'layers', microBatch: 8 }, (x) => warnings.push(x));
    recomputing.worker(0, near);
    recomputing.check();
    expect(warnings[1]).toContain('lower train.microBatch (bench: --micro-batch) below 8');
  });
});
