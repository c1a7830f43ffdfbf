/**
 * Seeded splits that never cut a group: every item of a group lands in the same split, so no address,
 * message or duplicated text is seen in training and again in evaluation. Results do not depend on
 * the input order of the groups (keys are sorted before the seeded shuffle).
 */
import { Rng } from '../util/rng.js';
import type { Document } from './types.js';

export interface Splits<T> {
  train: T[];
  dev: T[];
  test: T[];
}

export interface GroupSplitOptions<T> {
  groupOf: (item: T) => string;
  /** Groups are split separately per stratum (e.g. label) so each split keeps the proportions. */
  stratumOf?: (item: T) => string;
  /** Fractions of groups for dev and test (allocated over strata by largest remainder); train gets the rest. */
  dev: number;
  test: number;
  seed: number;
}

/** Splits items into train/dev/test by whole groups, stratified; items keep their input order. */
export function splitByGroup<T>(items: T[], opts: GroupSplitOptions<T>): Splits<T> {
  checkFraction('dev', opts.dev);
  checkFraction('test', opts.test);
  if (opts.dev + opts.test >= 1) throw new Error(`dev + test fractions must be below 1; got ${opts.dev} + ${opts.test}`);
  // A group's stratum is that of its first item (groups are expected to be homogeneous).
  const strata = new Map<string, Set<string>>();
  const seen = new Set<string>();
  for (const item of items) {
    const g = opts.groupOf(item);
    if (seen.has(g)) continue;
    seen.add(g);
    const s = opts.stratumOf?.(item) ?? '';
    if (!strata.has(s)) strata.set(s, new Set());
    strata.get(s)!.add(g);
  }
  const rng = new Rng(opts.seed);
  const names = [...strata.keys()].sort();
  const sizes = names.map((s) => strata.get(s)!.size);
  const nTest = allocate(sizes, opts.test);
  const nDev = allocate(sizes, opts.dev);
  const where = new Map<string, keyof Splits<T>>();
  names.forEach((s, k) => {
    const groups = rng.shuffle([...strata.get(s)!].sort());
    groups.forEach((g, i) => where.set(g, i < nTest[k] ? 'test' : i < nTest[k] + nDev[k] ? 'dev' : 'train'));
  });
  const out: Splits<T> = { train: [], dev: [], test: [] };
  for (const item of items) out[where.get(opts.groupOf(item))!].push(item);
  return out;
}

/**
 * Holds out whole groups (addresses, files) of a pre-training corpus: groups are taken in seeded
 * order until the held-out part has at least `heldOutFraction` of the corpus's characters (so a
 * fraction means text volume, not a count of groups of very different sizes). At least one group
 * goes to each side.
 */
export function splitDocuments(
  docs: Document[],
  opts: { heldOutFraction: number; seed: number; /** What the corpus is, for the message: `corpus.source: x.txt`. */ source?: string },
): { train: Document[]; heldOut: Document[] } {
  checkFraction('heldOutFraction', opts.heldOutFraction);
  const chars = new Map<string, number>();
  for (const d of docs) chars.set(d.group, (chars.get(d.group) ?? 0) + d.text.length);
  if (opts.heldOutFraction === 0) return { train: docs.slice(), heldOut: [] };
  if (chars.size < 2) {
    const unit = opts.source?.endsWith('.txt') ? 'paragraph' : 'group';
    throw new Error(
      `${opts.source ? `${opts.source}: ` : ''}holds ${chars.size} ${unit}${chars.size === 1 ? '' : 's'} (a ${unit} is held out whole); holding out corpus.heldOutFraction (${opts.heldOutFraction}) of it for the MLM evaluation needs at least 2: add text (${unit === 'paragraph' ? 'paragraphs are separated by blank lines' : 'files, addresses or documents with their own group'})`,
    );
  }
  const order = new Rng(opts.seed).shuffle([...chars.keys()].sort());
  const total = [...chars.values()].reduce((a, b) => a + b, 0);
  const held = new Set<string>();
  let heldChars = 0;
  for (const g of order) {
    if (held.size > 0 && (heldChars >= opts.heldOutFraction * total || held.size === order.length - 1)) break;
    held.add(g);
    heldChars += chars.get(g)!;
  }
  return { train: docs.filter((d) => !held.has(d.group)), heldOut: docs.filter((d) => held.has(d.group)) };
}

/** At most `max` items, sampled with `rng` in proportion to each label's share (largest remainders). */
export function stratifiedSample<T>(items: T[], max: number, labelOf: (item: T) => number, rng: Rng): T[] {
  if (items.length <= max) return items;
  const byLabel = new Map<number, number[]>();
  items.forEach((it, i) => {
    const l = labelOf(it);
    if (!byLabel.has(l)) byLabel.set(l, []);
    byLabel.get(l)!.push(i);
  });
  const labels = [...byLabel.keys()].sort((a, b) => a - b);
  const quota = allocate(
    labels.map((l) => byLabel.get(l)!.length),
    max / items.length,
  );
  const keep = new Set<number>();
  labels.forEach((l, i) =>
    rng
      .shuffle(byLabel.get(l)!.slice())
      .slice(0, quota[i])
      .forEach((j) => keep.add(j)),
  );
  return items.filter((_, i) => keep.has(i));
}

/**
 * How many groups of each stratum take `fraction`: the floors, plus one for the strata with the
 * largest remainders until the total is round(fraction * all groups), so stratifying does not
 * inflate a split through per-stratum rounding (five strata of 2.5 are 12 or 13, not 15).
 */
function allocate(sizes: number[], fraction: number): number[] {
  const exact = sizes.map((n) => n * fraction);
  const counts = exact.map(Math.floor);
  const target = Math.round(sizes.reduce((a, b) => a + b, 0) * fraction);
  const byRemainder = exact.map((_, i) => i).sort((a, b) => exact[b] - counts[b] - (exact[a] - counts[a]) || a - b);
  for (let k = 0; counts.reduce((a, b) => a + b, 0) < target; k++) counts[byRemainder[k]]++;
  return counts;
}

function checkFraction(name: string, f: number): void {
  if (!(f >= 0 && f < 1)) throw new Error(`${name} must be a fraction in [0, 1); got ${f}`);
}
