/**
 * Kernels the tfjs wasm backend lacks or runs slowly, that training needs.
 *
 * UnsortedSegmentSum is what the gradient of `gather` (the embedding lookup) calls. The wasm
 * backend has ScatterNd, which sums duplicate indices, so the missing kernel is ScatterNd with the
 * segment ids as [N, 1] indices: no data leaves the wasm heap.
 */
import * as tf from '@tensorflow/tfjs-core';

type KernelFunc = tf.KernelConfig['kernelFunc'];

function kernelFuncOf(name: string): KernelFunc {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm backend has no ${name} kernel`);
  return k.kernelFunc;
}

/**
 * The wasm BatchMatMul runs ~10x slower when transposeA or transposeB is set (measured: 232 ms vs
 * 24 ms for a [4096,512]x[512,128] product), and every matMul gradient uses those flags. So the
 * flags are replaced by an explicit Transpose kernel followed by the untransposed product.
 */
function registerFastTransposedMatMul(): void {
  const original = tf.getKernel('BatchMatMul', 'wasm');
  if (!original || (original as { patched?: boolean }).patched) return;
  const matmul = original.kernelFunc;
  const transpose = kernelFuncOf('Transpose');
  tf.unregisterKernel('BatchMatMul', 'wasm');
  const config = {
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    patched: true,
    kernelFunc: ({ inputs, backend, attrs }: Parameters<KernelFunc>[0]) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return matmul({ inputs, backend, attrs });
      const swapLast = (t: tf.TensorInfo) => {
        const r = t.shape.length;
        const perm = [...Array(r).keys()];
        [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
        return transpose({ inputs: { x: t }, backend, attrs: { perm } }) as tf.TensorInfo;
      };
      const at = transposeA ? swapLast(a) : a;
      const bt = transposeB ? swapLast(b) : b;
      const out = matmul({ inputs: { a: at, b: bt }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
      const d = backend as unknown as { disposeData(id: object): void };
      if (at !== a) d.disposeData(at.dataId);
      if (bt !== b) d.disposeData(bt.dataId);
      return out;
    },
  };
  tf.registerKernel(config as tf.KernelConfig);
}

export function registerWasmKernels(): void {
  registerFastTransposedMatMul();
  if (tf.getKernel('UnsortedSegmentSum', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as { numSegments: number };
      const reshape = kernelFuncOf('Reshape');
      const cast = kernelFuncOf('Cast');
      const scatter = kernelFuncOf('ScatterNd');
      const idRank = segmentIds.shape.length;
      const n = segmentIds.shape.reduce((a, b) => a * b, 1);
      const rest = x.shape.slice(idRank);
      const b = backend as unknown as { disposeData(id: object): void };
      const ids32 = segmentIds.dtype === 'int32' ? null : (cast({ inputs: { x: segmentIds }, backend, attrs: { dtype: 'int32' } }) as tf.TensorInfo);
      const indices = reshape({ inputs: { x: ids32 ?? segmentIds }, backend, attrs: { shape: [n, 1] } }) as tf.TensorInfo;
      const updates = reshape({ inputs: { x }, backend, attrs: { shape: [n, ...rest] } }) as tf.TensorInfo;
      const out = scatter({ inputs: { indices, updates }, backend, attrs: { shape: [numSegments, ...rest] } }) as tf.TensorInfo;
      b.disposeData(indices.dataId);
      b.disposeData(updates.dataId);
      if (ids32) b.disposeData(ids32.dataId);
      return out;
    },
  });
}
