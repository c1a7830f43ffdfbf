/**
 * Running an exported model in onnxruntime-web (wasm backend) inside Node: the runtime a browser
 * app would use, here as a portability check of the files (same predictions as onnxruntime-node).
 * Single-threaded, and the .wasm files load from the installed package (nothing is fetched).
 */
import type { Batch } from './runtime.js';

type OrtWeb = typeof import('onnxruntime-web');
let loaded: Promise<OrtWeb> | null = null;

async function ortWeb(): Promise<OrtWeb> {
  loaded ??= import('onnxruntime-web').then((ort) => {
    ort.env.wasm.numThreads = 1;
    return ort;
  });
  return loaded;
}

export interface WebSession {
  run(batch: Batch): Promise<Float32Array>;
  release(): Promise<void>;
}

/** An onnxruntime-web session on the wasm backend (graph optimizations on, as in onnxruntime-node). */
export async function createWebSession(bytes: Uint8Array, what = '<bytes>'): Promise<WebSession> {
  const ort = await ortWeb();
  let session: Awaited<ReturnType<OrtWeb['InferenceSession']['create']>>;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  } catch (e) {
    throw new Error(`${what}: onnxruntime-web could not load the model (${(e as Error).message})`);
  }
  const int64 = (a: ArrayLike<number>, dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(Array.from(a, (v) => BigInt(Math.round(v)))), dims);
  return {
    async run(batch) {
      const dims = [batch.batchSize, batch.seqLen];
      const out = await session.run({
        input_ids: int64(batch.inputIds, dims),
        attention_mask: int64(batch.attentionMask, dims),
        token_type_ids: int64(batch.tokenTypeIds, dims),
      });
      if (!out.logits) throw new Error(`${what}: model has no 'logits' output`);
      return out.logits.data as Float32Array;
    },
    release: () => session.release(),
  };
}
