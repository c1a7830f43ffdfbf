/**
 * Process, memory and machine facts that every benchmark line carries, so that a number read later
 * (or next to a peer's) says where and under what conditions it was measured.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpus, loadavg } from 'node:os';

const MB = 2 ** 20;

/** Round to `digits` decimals (JSON lines stay short and diffable). */
export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Peak resident set size of this process so far, in MB (getrusage ru_maxrss, never decreases). */
export function rssPeakMb(): number {
  return round(process.resourceUsage().maxRSS / 1024);
}

/**
 * Size of the wasm backend's linear memory in MB, or undefined on another backend. Emscripten grows
 * the heap on demand and never shrinks it, so the current size is the peak of the run. The tfjs
 * wasm build is 32-bit: the heap cannot pass 4 GB (4294901760 bytes, `getHeapMax`).
 */
export function wasmHeapMb(): number | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const module = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
  const heap = module?.HEAPU8;
  return heap ? round(heap.length / MB) : undefined;
}

/** Bytes of live tensors tfjs tracks, in MB (all backends). */
export function tfjsTensorMb(): number {
  return round(tf.memory().numBytes / MB);
}

export interface MachineFacts {
  node_version: string;
  cpu_model: string;
  cpu_count: number;
  /** 1-minute load average when the measurement ended: other processes competing for the cores. */
  load_avg_1m: number;
}

export function machineFacts(): MachineFacts {
  const list = cpus();
  return {
    node_version: process.version,
    cpu_model: list[0]?.model?.trim() ?? 'unknown',
    cpu_count: list.length,
    // os.loadavg() is [0, 0, 0] on Windows; reported as is.
    load_avg_1m: round(loadavg()[0], 2),
  };
}
