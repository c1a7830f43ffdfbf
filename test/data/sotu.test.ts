import { describe, expect, it } from 'vitest';
import { passages, sentences, wordCount } from '../../src/data/passages.js';
import { sotuEraTask, sotuPartyTask, ERA_STARTS, PASSAGE_MAX_WORDS, PASSAGE_MIN_WORDS } from '../../src/data/sotu-tasks.js';
import { NEXT_MIN_WORDS, sotuNextTask } from '../../src/data/sotu-next.js';
import { sotuAddresses, sotuDocuments } from '../../src/data/sotu.js';
import { splitDocuments } from '../../src/data/split.js';
import type { Example } from '../../src/data/types.js';

const groupsOf = (xs: { group: string }[]) => new Set(xs.map((x) => x.group));
const disjoint = (a: Set<string>, b: Set<string>) => [...a].every((x) => !b.has(x));

describe('SOTU corpus', () => {
  const docs = sotuDocuments();

  it('has one document per address, grouped by address', () => {
    expect(docs).toHaveLength(233);
    expect(groupsOf(docs).size).toBe(233);
    expect(docs[0]).toMatchObject({ id: '1790_george_washington_n', group: '1790_george_washington_n' });
    expect(docs.every((d) => d.text.length > 1000 && !/\s\s/.test(d.text))).toBe(true);
    const words = docs.reduce((n, d) => n + wordCount(d.text), 0);
    expect(words).toBeGreaterThan(1_700_000);
    const a = sotuAddresses().find((x) => x.id === '2015_barack_obama_d')!;
    expect(a).toMatchObject({ year: 2015, partyCode: 'd', party: 'Democratic' });
  });

  it('holds out whole addresses, about the requested share of the text, deterministically', () => {
    const { train, heldOut } = splitDocuments(docs, { heldOutFraction: 0.05, seed: 3 });
    expect(train.length + heldOut.length).toBe(docs.length);
    expect(disjoint(groupsOf(train), groupsOf(heldOut))).toBe(true);
    const chars = (xs: { text: string }[]) => xs.reduce((n, d) => n + d.text.length, 0);
    const share = chars(heldOut) / chars(docs);
    expect(share).toBeGreaterThanOrEqual(0.05);
    expect(share).toBeLessThan(0.07);
    expect(splitDocuments(docs, { heldOutFraction: 0.05, seed: 3 }).heldOut.map((d) => d.id)).toEqual(heldOut.map((d) => d.id));
    expect(
      splitDocuments([...docs].reverse(), { heldOutFraction: 0.05, seed: 3 })
        .heldOut.map((d) => d.id)
        .sort(),
    ).toEqual(heldOut.map((d) => d.id).sort());
    expect(splitDocuments(docs, { heldOutFraction: 0.05, seed: 4 }).heldOut.map((d) => d.id)).not.toEqual(heldOut.map((d) => d.id));
  });

  it('refuses to hold out part of a single group and bad fractions', () => {
    const one = docs.slice(0, 3).map((d) => ({ ...d, group: 'same' }));
    expect(() => splitDocuments(one, { heldOutFraction: 0.1, seed: 1 })).toThrow(/holds 1 group \(a group is held out whole\).*needs at least 2/);
    expect(() => splitDocuments(docs, { heldOutFraction: 1, seed: 1 })).toThrow(/heldOutFraction/);
    expect(splitDocuments(one, { heldOutFraction: 0, seed: 1 }).heldOut).toEqual([]);
  });
});

describe('sentences and passages', () => {
  it('does not break after titles or initials', () => {
    expect(sentences('Mr. Speaker, Mr. Vice President: We met. John F. Kennedy spoke! "Is it so?" Yes. 1900 was a year.')).toEqual([
      'Mr. Speaker, Mr. Vice President: We met.',
      'John F. Kennedy spoke!',
      '"Is it so?"',
      'Yes.',
      '1900 was a year.',
    ]);
  });

  it('packs whole sentences up to the word budget and drops short passages', () => {
    const s = (n: number, w: string) => `${Array(n).fill(w).join(' ')}.`.replace(/^./, (c) => c.toUpperCase());
    const text = [s(30, 'a'), s(30, 'b'), s(30, 'c'), s(150, 'd'), s(10, 'e')].join(' ');
    const ps = passages(text, { maxWords: 100, minWords: 20 });
    expect(ps.map(wordCount)).toEqual([90, 150]); // the 10-word tail is dropped
  });
});

describe('SOTU party task', () => {
  const task = sotuPartyTask({ seed: 7 });
  const all: Example[] = [...task.train, ...task.dev, ...task.test];

  it('keeps Democratic and Republican addresses only, labelled by the file-name suffix', () => {
    expect(task.labels).toEqual(['democratic', 'republican']);
    const parties = new Map(sotuAddresses().map((a) => [a.id, a.partyCode]));
    expect(all.every((e) => parties.get(e.group) === (e.label === 0 ? 'd' : 'r'))).toBe(true);
    expect(groupsOf(all).size).toBe(182);
    expect(all.every((e) => wordCount(e.text) >= PASSAGE_MIN_WORDS)).toBe(true);
    const long = all.filter((e) => wordCount(e.text) > PASSAGE_MAX_WORDS).length;
    expect(long / all.length).toBeLessThan(0.05); // only single long sentences exceed the budget
  });

  it('splits by address, about 80/10/10 of the addresses of each party', () => {
    const [tr, dv, te] = [task.train, task.dev, task.test].map(groupsOf);
    expect(disjoint(tr, dv) && disjoint(tr, te) && disjoint(dv, te)).toBe(true);
    expect([tr.size, dv.size, te.size]).toEqual([146, 18, 18]);
    for (const split of [task.dev, task.test]) {
      const dem = groupsOf(split.filter((e) => e.label === 0)).size;
      expect(dem).toBe(9);
    }
    expect(task.description).toContain(`train ${task.train.length} (democratic ${task.train.filter((e) => e.label === 0).length}`);
  });

  it('is deterministic from the seed and subsamples per split on request', () => {
    const again = sotuPartyTask({ seed: 7 });
    expect(again.test.map((e) => e.text)).toEqual(task.test.map((e) => e.text));
    expect(sotuPartyTask({ seed: 8 }).test.map((e) => e.group)).not.toEqual(task.test.map((e) => e.group));
    const small = sotuPartyTask({ seed: 7, maxPerSplit: 50 });
    expect([small.train.length, small.dev.length, small.test.length]).toEqual([50, 50, 50]);
    const dem = small.train.filter((e) => e.label === 0).length;
    expect(Math.abs(dem - (50 * task.train.filter((e) => e.label === 0).length) / task.train.length)).toBeLessThanOrEqual(1);
    expect(small.train.every((e) => task.train.some((t) => t.text === e.text))).toBe(true);
  });
});

describe('SOTU era task', () => {
  const task = sotuEraTask({ seed: 7 });
  const all: Example[] = [...task.train, ...task.dev, ...task.test];
  const years = new Map(sotuAddresses().map((a) => [a.id, a.year]));

  it('labels every address by the era its year falls in', () => {
    expect(task.labels).toEqual(['1790-1859', '1860-1909', '1910-1959', '1960-']);
    expect(groupsOf(all).size).toBe(sotuAddresses().length);
    for (const e of all) {
      const y = years.get(e.group)!;
      expect(y).toBeGreaterThanOrEqual(ERA_STARTS[e.label]);
      if (e.label + 1 < ERA_STARTS.length) expect(y).toBeLessThan(ERA_STARTS[e.label + 1]);
    }
    // Each era holds between a sixth and a half of the passages: no class dominates.
    for (let k = 0; k < 4; k++) {
      const share = all.filter((e) => e.label === k).length / all.length;
      expect(share).toBeGreaterThan(1 / 6);
      expect(share).toBeLessThan(1 / 2);
    }
  });

  it('splits by address with every era in dev and test, and is deterministic', () => {
    const [tr, dv, te] = [task.train, task.dev, task.test].map(groupsOf);
    expect(disjoint(tr, dv) && disjoint(tr, te) && disjoint(dv, te)).toBe(true);
    for (const split of [task.dev, task.test]) expect(new Set(split.map((e) => e.label)).size).toBe(4);
    expect(sotuEraTask({ seed: 7 }).test.map((e) => e.text)).toEqual(task.test.map((e) => e.text));
  });
});

describe('SOTU next-sentence task (sentence pairs)', () => {
  const task = sotuNextTask({ seed: 7 });
  const text = new Map(sotuAddresses().map((a) => [a.id, a.text]));

  it('pairs a sentence with the one after it (next) or with one of another address of the same split (other), half each', () => {
    expect(task.labels).toEqual(['other', 'next']);
    for (const [name, split] of Object.entries({ train: task.train, dev: task.dev, test: task.test })) {
      const next = split.filter((e) => e.label === 1).length;
      expect(Math.abs(next - split.length / 2), name).toBeLessThanOrEqual(1);
      for (const e of split.slice(0, 200)) {
        for (const s of [e.text, e.textPair!]) expect(wordCount(s)).toBeGreaterThanOrEqual(NEXT_MIN_WORDS);
        const own = text.get(e.group)!;
        if (e.label === 1) expect(own.includes(`${e.text} ${e.textPair}`), e.text).toBe(true);
        else {
          expect(own.includes(`${e.text} ${e.textPair}`)).toBe(false);
          // The negative's second sentence comes from another address of the same split.
          const sources = [...groupsOf(split)].filter((g) => g !== e.group && text.get(g)!.includes(e.textPair!));
          expect(sources.length, e.textPair).toBeGreaterThan(0);
        }
      }
    }
  });

  it('splits by address and is deterministic; maxPerSplit keeps the balance', () => {
    const [tr, dv, te] = [task.train, task.dev, task.test].map(groupsOf);
    expect(disjoint(tr, dv) && disjoint(tr, te) && disjoint(dv, te)).toBe(true);
    expect(sotuNextTask({ seed: 7 }).dev).toEqual(task.dev);
    const small = sotuNextTask({ seed: 7, maxPerSplit: 100 });
    for (const split of [small.train, small.dev, small.test]) {
      expect(split).toHaveLength(100);
      expect(split.filter((e) => e.label === 1)).toHaveLength(50);
    }
  });
});
