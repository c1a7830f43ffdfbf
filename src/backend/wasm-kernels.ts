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
 * The wasm BatchMatMul has two paths (tfjs-backend-wasm batch_mat_mul_impl.cc): a single product
 * (batch 1) without transpose flags goes to XNNPACK (~20-28 GFLOP/s here); anything else, a
 * transpose flag or a batch of products, falls to a scalar loop at ~2.5 GFLOP/s. Every matMul
 * gradient sets a flag, and attention is batched ([B, heads, S, d]). So this kernel
 * - replaces the flags by an explicit Transpose and a flag-free product (measured: 232 ms -> 24 ms
 *   for a [4096,512]x[512,128] product);
 * - runs a batch of products (equal batch shapes, no broadcasting) as one XNNPACK product per batch
 *   entry, on views into the operands' memory (see batchOfProducts).
 */
/** The parts of tfjs-backend-wasm's BackendWasm (4.22) that batchOfProducts reaches into. */
interface WasmBackendInternals {
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  wasm: {
    cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  };
}

let wasmMatMul: ((...args: unknown[]) => void) | null = null;

/**
 * out[i] = a[i] b[i] for i < batch, with a [.., m, k] and b [.., k, n] flag-free, as `batch` calls
 * of the wasm module's own BatchMatMul on batch-1 views: tensor ids registered at offsets inside
 * a, b and a fresh output, so no slice or concat copies anything. Disposing a view's id releases
 * the XNNPACK operator the call cached on it and never frees memory (the JS side owns that).
 */
function batchOfProducts(backend: WasmBackendInternals, a: tf.TensorInfo, b: tf.TensorInfo, batch: number, batchShape: number[]): tf.TensorInfo {
  wasmMatMul ??= backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const out = backend.makeOutput([...batchShape, m, n], 'float32');
  const base = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
  const [aBase, bBase, outBase] = [base(a), base(b), base(out)];
  const aShape = new Uint8Array(new Int32Array([1, m, k]).buffer);
  const bShape = new Uint8Array(new Int32Array([1, k, n]).buffer);
  const { tfjs } = backend.wasm;
  for (let i = 0; i < batch; i++) {
    const [aId, bId, outId] = [backend.dataIdNextNumber++, backend.dataIdNextNumber++, backend.dataIdNextNumber++];
    tfjs.registerTensor(aId, m * k, aBase + 4 * i * m * k);
    tfjs.registerTensor(bId, k * n, bBase + 4 * i * k * n);
    tfjs.registerTensor(outId, m * n, outBase + 4 * i * m * n);
    wasmMatMul(aId, aShape, 3, bId, bShape, 3, 0, 0, outId);
    tfjs.disposeData(aId);
    tfjs.disposeData(bId);
    tfjs.disposeData(outId);
  }
  return out;
}

function registerFastMatMul(): void {
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
      const d = backend as unknown as { disposeData(id: object): void };
      const run = (kernel: KernelFunc, ins: tf.NamedTensorInfoMap, at: tf.NamedAttrMap) => kernel({ inputs: ins, backend, attrs: at }) as tf.TensorInfo;
      const batchA = a.shape.slice(0, -2);
      const batchB = b.shape.slice(0, -2);
      const batch = batchA.reduce((x, y) => x * y, 1);
      const sameBatch = batchA.length === batchB.length && batchA.every((n, i) => n === batchB[i]);
      if (a.dtype !== 'float32' || b.dtype !== 'float32') return matmul({ inputs, backend, attrs });
      // A product over zero terms (k = 0: e.g. the weight gradient of a thread's share with no
      // masked position) is all zeros; XNNPACK refuses k = 0 and the wasm kernel then returns
      // uninitialised memory.
      const k = transposeA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
      if (k === 0) {
        const outShape = [
          ...(batchA.length >= batchB.length ? batchA : batchB),
          transposeA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2],
          transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1],
        ];
        const out = (backend as unknown as WasmBackendInternals).makeOutput(outShape, 'float32');
        (backend as unknown as { typedArrayFromHeap(t: tf.TensorInfo): Float32Array }).typedArrayFromHeap(out).fill(0);
        return out;
      }
      const single = batch === 1 && batchB.reduce((x, y) => x * y, 1) === 1;
      // A single flag-free product also runs on views: the wasm module caches the XNNPACK operator,
      // with its own packed copy of b, under b's tensor id until b is disposed, so every weight
      // matrix (a frozen teacher's for the whole run) would hold a second copy in the heap. On a
      // view the copy is freed after the call; packing b again costs k x n of the m x k x n work.
      if (!transposeA && !transposeB && single)
        return batchOfProducts(backend as unknown as WasmBackendInternals, a, b, 1, [...(batchA.length >= batchB.length ? batchA : batchB)]);
      if (batch > 1 && !sameBatch) return matmul({ inputs, backend, attrs });

      const swapLast = (t: tf.TensorInfo) => {
        const r = t.shape.length;
        const perm = [...Array(r).keys()];
        [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
        return run(transpose, { x: t }, { perm });
      };
      const at = transposeA ? swapLast(a) : a;
      const bt = transposeB ? swapLast(b) : b;
      const free = () => {
        if (at !== a) d.disposeData(at.dataId);
        if (bt !== b) d.disposeData(bt.dataId);
      };
      if (batch === 1) {
        const out = run(matmul, { a: at, b: bt }, { ...attrs, transposeA: false, transposeB: false });
        free();
        return out;
      }
      const out = batchOfProducts(backend as unknown as WasmBackendInternals, at, bt, batch, [...batchA]);
      free();
      return out;
    },
  };
  tf.registerKernel(config as tf.KernelConfig);
}

export function registerWasmKernels(): void {
  registerFastMatMul();
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
