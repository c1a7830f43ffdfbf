/**
 * Weights are chosen by name: glob patterns (picomatch; `*` stays within one `/` segment, `**`
 * crosses them, `{a,b}` alternates) over the stable weight names of src/model/weights.ts.
 */
import picomatch from 'picomatch';
import { ENCODER_LINEAR_GLOBS } from '../model/weights.js';

/** The encoder's Q, K, V, attention-output and both FFN kernels: what Prune OFA prunes. */
export const DEFAULT_INCLUDE: string[] = [...ENCODER_LINEAR_GLOBS];

export function selectWeights(names: Iterable<string>, include: string[] = DEFAULT_INCLUDE, exclude: string[] = []): string[] {
  const inc = picomatch(include);
  const exc = exclude.length ? picomatch(exclude) : () => false;
  return [...names].filter((n) => inc(n) && !exc(n));
}

export function matches(name: string, pattern: string): boolean {
  return picomatch(pattern)(name);
}
