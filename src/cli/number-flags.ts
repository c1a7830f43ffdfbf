/**
 * yargs turns `--seed abc` into NaN and `--runs 1e400` into Infinity without a word. This check,
 * shared by every command, rejects any non-finite number among the parsed flags, quoting what the
 * user typed.
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
