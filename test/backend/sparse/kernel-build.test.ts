import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SPARSE_KERNEL_CLANG, SPARSE_KERNEL_WASM_BASE64 } from '../../../src/backend/sparse/kernel-wasm.js';

/** The clang that built the shipped module; the bytes are compared only against the same version. */
function clangVersion(): string | undefined {
  try {
    return execFileSync('clang', ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();
  } catch {
    return undefined;
  }
}
const clang = clangVersion();
const why = !clang
  ? 'clang is not installed (apt-get install clang lld): the shipped kernel is not rebuilt'
  : clang !== SPARSE_KERNEL_CLANG
    ? `clang is '${clang}', the shipped kernel was built by '${SPARSE_KERNEL_CLANG}': bytes differ between versions`
    : '';
if (why) console.warn(`kernel-build test skipped: ${why}`);

describe('the shipped sparse kernel', () => {
  it.skipIf(!!why)('is kernel.c as built by scripts/build-sparse-kernel.mjs (rebuild after editing kernel.c)', () => {
    const out = JSON.parse(execFileSync('node', ['scripts/build-sparse-kernel.mjs', '--print'], { encoding: 'utf8' })) as { clang: string; base64: string };
    expect(out.clang).toBe(SPARSE_KERNEL_CLANG);
    expect(out.base64).toBe(SPARSE_KERNEL_WASM_BASE64);
  });

  it('is a small SIMD module that imports a shared memory and exports the kernels', async () => {
    const bytes = Buffer.from(SPARSE_KERNEL_WASM_BASE64, 'base64');
    expect(bytes.length).toBeLessThan(16 * 1024);
    const m = await WebAssembly.compile(bytes);
    expect(WebAssembly.Module.imports(m)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(
      WebAssembly.Module.exports(m)
        .map((e) => e.name)
        .sort(),
    ).toEqual(['abs_max', 'quantize_i8', 'spmm_f32', 'spmm_i8']);
  });
});
