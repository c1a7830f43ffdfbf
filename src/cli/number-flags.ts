/**
 * yargs turns `--seed abc` into NaN and `--runs 1e400` into Infinity without a word. This check,
 * shared by every command, rejects any non-finite number among the parsed flags, quoting what the
 * user typed; `intFlagIssue` checks a flag's range (`sweep --workers 0` was an internal error).
 */

/** A mistake in the command line (exit 2 with the usage hint), not a failure of the work. */
export class UsageError extends Error {}

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** What followed `--flag` (or `--flag=`) on the command line, for the message. */
function typed(tokens: string[], flag: string): string | undefined {
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === flag) return tokens[i + 1];
    if (tokens[i].startsWith(`${flag}=`)) return tokens[i].slice(flag.length + 1);
  }
  return undefined;
}

/** One line per flag whose number is not finite; empty when all are fine. */
export function badNumberFlags(argv: Record<string, unknown>, tokens: string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const [key, value] of Object.entries(argv)) {
    if (key === '_' || key === '$0') continue;
    const values = Array.isArray(value) ? value : [value];
    if (!values.some((v) => typeof v === 'number' && !Number.isFinite(v))) continue;
    const flag = key.length === 1 ? `-${key}` : `--${kebab(key)}`;
    if (seen.has(flag)) continue;
    seen.add(flag);
    if (Array.isArray(value)) {
      out.push(`${flag}: one of its values is not a number (or not a finite one); give numbers, e.g. ${flag} 1 2`);
      continue;
    }
    const text = typed(tokens, flag);
    out.push(`${flag} ${text === undefined ? '' : `'${text}' `}is not a number (or not a finite one); give a number, e.g. ${flag} 3`);
  }
  return out;
}

/** `--flag must be an integer from min to max (hint), got v`, or undefined when v is one. */
export function intFlagIssue(flag: string, value: unknown, min: number, max: number, hint?: string): string | undefined {
  // A non-finite number (what yargs makes of `abc`) is badNumberFlags' to report, quoting the text.
  if (typeof value === 'number' && (!Number.isFinite(value) || (Number.isInteger(value) && value >= min && value <= max))) return undefined;
  return `${flag} must be an integer from ${min} to ${max}${hint ? ` (${hint})` : ''}, got ${String(value)}`;
}

/** A yargs `.check` that fails (exit 2, with the usage hint) on every issue given. */
export function usageCheck(issues: Array<string | undefined>): true {
  const bad = issues.filter((i): i is string => i !== undefined);
  if (bad.length) throw new UsageError(bad.join('\n       '));
  return true;
}
