import * as ort from 'onnxruntime-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { measureLatency, type Session } from '../../src/onnx/runtime.js';

type Feeds = Record<string, ort.Tensor>;

/**
 * A session whose forward pass takes the next scripted number of milliseconds on vitest's fake
 * clock: latency statistics are then exact, where a real session's times are noise.
 */
function scriptedSession(ms: number[]): { session: Session; feeds: Feeds[] } {
  const feeds: Feeds[] = [];
  const run = async (f: Feeds) => {
    feeds.push(f);
    vi.advanceTimersByTime(ms[feeds.length - 1]);
    return {};
  };
  return { session: { run } as unknown as Session, feeds };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('measureLatency', () => {
  it('times only the runs after the warm-up, and gives their median, nearest-rank p90 and throughput', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    // Two warm-up runs far slower than the rest, then 6 timed runs.
    const { session, feeds } = scriptedSession([1000, 900, 4, 1, 3, 2, 8, 5]);
    const lat = await measureLatency(session, { batch: 4, seq: 8, warmup: 2, runs: 6, vocabSize: 50 });
    expect(feeds).toHaveLength(8);
    expect(lat.medianMs).toBe(3.5); // of 1 2 3 4 5 8
    expect(lat.p90Ms).toBe(8); // ceil(0.9 * 6) = 6th of 6
    expect(lat.minMs).toBe(1); // the fastest timed run
    expect(lat.throughputPerS).toBeCloseTo((4 * 1000) / 3.5, 9);
    expect(lat.runs).toBe(6);
  });

  it('feeds full-length [batch, seq] inputs with token ids below the vocabulary size, the same every run', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const { session, feeds } = scriptedSession([1, 1, 1]);
    await measureLatency(session, { batch: 2, seq: 5, warmup: 1, runs: 2, vocabSize: 7, seed: 3 });
    const ids = feeds[0].input_ids;
    expect(ids.dims).toEqual([2, 5]);
    const values = Array.from(ids.data as BigInt64Array, Number);
    expect(values.every((v) => v >= 0 && v < 7)).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(1);
    expect(Array.from(feeds[0].attention_mask.data as BigInt64Array, Number)).toEqual(new Array(10).fill(1));
    for (const f of feeds) expect(Array.from(f.input_ids.data as BigInt64Array, Number)).toEqual(values);
  });

  it('refuses a batch, sequence or run count below 1', async () => {
    const { session } = scriptedSession([]);
    await expect(measureLatency(session, { batch: 0, seq: 8, warmup: 0, runs: 1 })).rejects.toThrow(/batch, seq and runs must be >= 1/);
    await expect(measureLatency(session, { batch: 1, seq: 8, warmup: 0, runs: 0 })).rejects.toThrow(/batch, seq and runs must be >= 1/);
  });
});
