/**
 * Picks the TensorFlow.js backend: the one asked for, or the best that loads, in the order
 * tfjs-node-gpu (CUDA), tfjs-node (native CPU), wasm, cpu (pure JS). The two native backends are
 * optionalDependencies: they install only where their binary host is reachable (not on the build
 * machines), so their absence is normal and falls through to wasm.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node bundle registers no gradients (its ESM files cannot load in Node); the union
// package's Node bundle carries them all and registers them with the same tfjs-core instance.
import '@tensorflow/tfjs';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { registerWasmKernels } from './wasm-kernels.js';
import { registerZeroCopyIdentity } from './wasm-identity.js';

const require = createRequire(import.meta.url);

export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** The package that provides each backend, for messages. */
export const BACKEND_PACKAGES: Record<BackendName, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

/** Aliases accepted by --backend. */
const ALIASES: Record<string, BackendName> = {
  gpu: 'tensorflow-gpu',
  'tfjs-node-gpu': 'tensorflow-gpu',
  'tensorflow-gpu': 'tensorflow-gpu',
  node: 'tensorflow',
  'tfjs-node': 'tensorflow',
  tensorflow: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

export function parseBackendName(name: string): BackendName {
  const b = ALIASES[name.toLowerCase()];
  if (!b) throw new Error(`unknown backend '${name}'; allowed: gpu, node, wasm, cpu (or auto)`);
  return b;
}

/**
 * Whether a native package's compiled binding is present. npm may leave an optional package whose
 * install step (the libtensorflow download) failed; importing it would register half its kernels
 * and then throw, so it is not imported at all.
 */
function nativeBindingPresent(pkg: string): boolean {
  try {
    const dir = dirname(require.resolve(`${pkg}/package.json`));
    const lib = join(dir, 'lib');
    return existsSync(lib) && readdirSync(lib).some((d) => existsSync(join(lib, d, 'tfjs_binding.node')));
  } catch {
    return false;
  }
}

function installed(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** Why each backend tried last did not load, with the command that fixes it (for the backend line). */
const whyNot = new Map<BackendName, string>();

/** Why a native backend cannot load here, and the command that fixes it; null when it may load. */
function nativeProblem(name: 'tensorflow-gpu' | 'tensorflow'): string | null {
  const pkg = BACKEND_PACKAGES[name];
  if (!installed(pkg)) return `${pkg} not installed (npm install ${pkg})`;
  if (!nativeBindingPresent(pkg)) {
    return `${pkg} binary missing: its install script, which downloads libtensorflow, did not run or failed (npm install-scripts approve ${pkg} && npm rebuild ${pkg})`;
  }
  return null;
}

async function load(name: BackendName): Promise<boolean> {
  whyNot.delete(name);
  try {
    if (name === 'tensorflow-gpu' || name === 'tensorflow') {
      const problem = nativeProblem(name);
      if (problem) {
        whyNot.set(name, problem);
        return false;
      }
    }
    if (name === 'tensorflow-gpu') {
      // The native packages register themselves as 'tensorflow' on import.
      await import(BACKEND_PACKAGES['tensorflow-gpu']);
      return tf.setBackend('tensorflow');
    }
    if (name === 'tensorflow') {
      await import(BACKEND_PACKAGES.tensorflow);
      return tf.setBackend('tensorflow');
    }
    if (name === 'wasm') {
      await import('@tensorflow/tfjs-backend-wasm');
      const ok = await tf.setBackend('wasm');
      if (ok) {
        registerWasmKernels();
        registerZeroCopyIdentity();
      }
      return ok;
    }
    await import('@tensorflow/tfjs-backend-cpu');
    return tf.setBackend('cpu');
  } catch (e) {
    whyNot.set(name, `${BACKEND_PACKAGES[name]} failed to load: ${(e as Error).message.split('\n')[0]}`);
    return false;
  }
}

export interface BackendInfo {
  /** Which backend runs (tensorflow-gpu, tensorflow, wasm or cpu). */
  name: BackendName;
  /** Backends tried before it that did not load. */
  skipped: BackendName[];
  /** Why each skipped backend did not load, and the command that fixes it, where known. */
  reasons?: Partial<Record<BackendName, string>>;
  tfjsVersion: string;
}

let current: BackendInfo | null = null;

/**
 * Selects and initialises a backend. `requested` is a name from --backend (or 'auto'/undefined for
 * the best that loads; the PRUNE_ONCE_BACKEND environment variable overrides auto).
 */
export async function selectBackend(requested?: string): Promise<BackendInfo> {
  const wanted = requested && requested !== 'auto' ? requested : process.env.PRUNE_ONCE_BACKEND || 'auto';
  if (current && (wanted === 'auto' || parseBackendName(wanted) === current.name)) return current;
  const order: BackendName[] = wanted === 'auto' ? [...BACKENDS] : [parseBackendName(wanted)];
  const skipped: BackendName[] = [];
  for (const name of order) {
    if (await load(name)) {
      await tf.ready();
      const reasons = Object.fromEntries(skipped.filter((s) => whyNot.has(s)).map((s) => [s, whyNot.get(s)!]));
      current = { name, skipped, reasons, tfjsVersion: tf.version_core };
      return current;
    }
    skipped.push(name);
  }
  if (wanted !== 'auto') {
    const b = parseBackendName(wanted);
    const why = whyNot.get(b);
    throw new Error(
      `backend '${wanted}' did not load: ${why ?? `is ${BACKEND_PACKAGES[b]} installed (and, for the GPU, CUDA/cuDNN)?`}. Use --backend auto to pick the best that loads.`,
    );
  }
  throw new Error('no TensorFlow.js backend loaded (tried tensorflow-gpu, tensorflow, wasm, cpu)');
}

/** Backends that load on this machine (for tests that run the same spec on each). */
export async function availableBackends(): Promise<BackendName[]> {
  const out: BackendName[] = [];
  for (const name of BACKENDS) if (await load(name)) out.push(name);
  current = null;
  return out;
}

export function describeBackend(info: BackendInfo): string {
  const skipped = info.skipped.length ? ` (not available: ${info.skipped.map((s) => (info.reasons?.[s] ? `${s}: ${info.reasons[s]}` : s)).join('; ')})` : '';
  return `backend: ${info.name}${skipped}, tfjs ${info.tfjsVersion}`;
}
