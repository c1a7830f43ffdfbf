/**
 * Number schemas whose every failure (wrong type, not an integer, out of range) says the whole
 * allowed range, so the pipeline loader's message reads `<field>: must be an integer from 1 to
 * 65536; found 100000000`. Every numeric setting is built from these: none is unbounded.
 */
import { z } from 'zod';

/** An integer in [min, max]; `hint` says what the field is or how to get past the limit. */
export function intIn(min: number, max: number, hint?: string) {
  const error = `must be an integer from ${min} to ${max}${hint ? ` (${hint})` : ''}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/**
 * A number in an interval written as in mathematics: '[0, 1)' includes 0 and excludes 1. Lower and
 * upper bounds are both required: a setting with no upper bound would let 1e300 through.
 */
export function numIn(interval: `${'[' | '('}${number}, ${number}${']' | ')'}`, hint?: string) {
  const m = /^([[(])(-?[\d.e+-]+), (-?[\d.e+-]+)([\])])$/.exec(interval);
  if (!m) throw new Error(`numIn: bad interval ${interval}`);
  const [lo, hi] = [Number(m[2]), Number(m[3])];
  const error = `must be a number in ${interval}${hint ? ` (${hint})` : ''}`;
  const s = z.number({ error });
  const withLo = m[1] === '[' ? s.min(lo, { error }) : s.gt(lo, { error });
  return m[4] === ']' ? withLo.max(hi, { error }) : withLo.lt(hi, { error });
}
