import { describe, expect, it } from 'vitest';
import { threadCount } from '../../../src/web/app/classify.js';

describe("the page's onnxruntime-web thread count", () => {
  it('is 1 on a page that is not cross-origin isolated, whatever is asked', () => {
    expect(threadCount(false, 8, null)).toBe(1);
    expect(threadCount(false, 8, '4')).toBe(1);
  });

  it("is ?threads=N when N is a positive integer, else onnxruntime-web's default: half the cores, at most 4", () => {
    expect(threadCount(true, 8, '3')).toBe(3);
    expect(threadCount(true, 2, '2')).toBe(2);
    for (const bad of [null, '', '0', '-1', '1.5', 'many']) expect(threadCount(true, 2, bad)).toBe(1);
    expect(threadCount(true, 3, null)).toBe(2);
    expect(threadCount(true, 8, null)).toBe(4);
    expect(threadCount(true, 32, null)).toBe(4);
    expect(threadCount(true, 0, null)).toBe(1); // hardwareConcurrency unknown
  });
});
