/**
 * The checks every bench's options share, one message shape for all of them: `name` is how the
 * caller names the option (the CLI its --flag, the library its field).
 */

/** `name must be a positive integer` (min 1) or `an integer >= min`, or `at most max` (with `unit`, e.g. ' rows'); undefined when fine. */
export function intIssue(name: string, v: unknown, min: 0 | 1, max = Infinity, unit = '', hint = ''): string | undefined {
  if (!Number.isInteger(v) || (v as number) < min)
    return `${name} must be ${min === 1 ? 'a positive integer' : `an integer >= ${min}`}${hint ? ` (${hint})` : ''}, got ${String(v)}`;
  if ((v as number) > max) return `${name} must be at most ${max}${unit}, got ${String(v)}`;
  return undefined;
}

/** `name must be in [0, 1)`, or undefined: a fraction of weights that is zero, below all of them. */
export function fractionIssue(name: string, v: unknown): string | undefined {
  return typeof v === 'number' && v >= 0 && v < 1 ? undefined : `${name} must be in [0, 1), got ${String(v)}`;
}

/** The issues given, without the undefined ones. */
export const issues = (...found: Array<string | undefined>): string[] => found.filter((m): m is string => m !== undefined);
