/**
 * A zero-copy Identity kernel for the wasm backend. tfjs clones every tensor a kernel saves for its
 * gradient (engine.saveTensorsForBackwardMode -> Identity), and the wasm Identity is a memcpy into a
 * fresh allocation: during a training step the tape then holds a second copy of every weight and
 * activation a gradient needs (measured on a bert-base student: the weights alone, 0.4 GB, copied
 * once per step). The cpu and webgl backends share the buffer and count references instead, which
 * the wasm backend supports too (its Reshape does it): tensors are immutable in tfjs, so a shared
 * buffer is never written through either handle, and it is freed when the last one is disposed.
 */
import * as tf from '@tensorflow/tfjs-core';

interface RefCounting {
  incRef(dataId: object): void;
}

export function registerZeroCopyIdentity(): void {
  const original = tf.getKernel('Identity', 'wasm');
  if (!original || (original as { zeroCopy?: boolean }).zeroCopy) return;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    ...original,
    zeroCopy: true,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      // Strings live outside the heap; the original handles them.
      if (x.dtype === 'string') return original.kernelFunc(args);
      (args.backend as unknown as RefCounting).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  } as tf.KernelConfig);
}
