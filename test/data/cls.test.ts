import { beforeAll, describe, expect, it } from 'vitest';
import { clsBatches, clsEvalBatches } from '../../src/data/cls-batches.js';
import { encodeExamples, truncatePair } from '../../src/data/encode.js';
import { spamAssassinTask } from '../../src/data/spam.js';
import type { EncodedExamples, Example } from '../../src/data/types.js';
import { loadTokenizer } from '../../src/tokenizer/index.js';
import type { Tokenizer } from '../../src/tokenizer/types.js';

let tok: Tokenizer;
let enc: EncodedExamples;
const SEQ = 128;

beforeAll(() => {
  tok = loadTokenizer();
  const task = spamAssassinTask({ seed: 1, maxPerSplit: 100 });
  enc = encodeExamples(tok, task.dev, SEQ);
});

describe('encoding', () => {
  it('lays out [CLS] a [SEP] b [SEP] with token types 0 then 1', () => {
    const ex: Example[] = [
      { text: 'The cat sat.', label: 1, group: 'g1' },
      { text: 'A man sleeps.', textPair: 'A person rests.', label: 0, group: 'g2' },
    ];
    const out = encodeExamples(tok, ex, 16);
    expect(tok.idsToTokens([...out.examples[0].inputIds])).toEqual(['[CLS]', 'the', 'cat', 'sat', '.', '[SEP]']);
    expect([...out.examples[0].tokenTypeIds]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(tok.idsToTokens([...out.examples[1].inputIds])).toEqual(['[CLS]', 'a', 'man', 'sleeps', '.', '[SEP]', 'a', 'person', 'rests', '.', '[SEP]']);
    expect([...out.examples[1].tokenTypeIds]).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    expect(out.examples.map((e) => e.label)).toEqual([1, 0]);
    expect(out).toMatchObject({ seqLen: 16, padId: tok.special.pad, truncated: 0 });
  });

  it('truncates the longer side first, as BERT does', () => {
    const a = [1, 2, 3, 4, 5, 6];
    const b = [7, 8];
    truncatePair(a, b, 5);
    expect([a, b]).toEqual([
      [1, 2, 3],
      [7, 8],
    ]);
    const c = [1, 2];
    const d = [3, 4];
    truncatePair(c, d, 3);
    expect([c, d]).toEqual([[1, 2], [3]]); // ties pop from the second
    const out = encodeExamples(tok, [{ text: 'one two three four five six seven eight nine ten', textPair: 'yes no', label: 0, group: 'g' }], 9);
    expect(tok.idsToTokens([...out.examples[0].inputIds])).toEqual(['[CLS]', 'one', 'two', 'three', 'four', '[SEP]', 'yes', 'no', '[SEP]']);
    expect(out.truncated).toBe(1);
  });

  it('keeps every real e-mail within seqLen, starting with [CLS] and ending with [SEP]', () => {
    expect(enc.examples).toHaveLength(100);
    expect(enc.truncated).toBeGreaterThan(10); // e-mails are long
    for (const e of enc.examples) {
      expect(e.inputIds.length).toBeLessThanOrEqual(SEQ);
      expect(e.inputIds[0]).toBe(tok.special.cls);
      expect(e.inputIds[e.inputIds.length - 1]).toBe(tok.special.sep);
    }
  });
});

describe('classification batches', () => {
  it('pad to seqLen, or to the longest row rounded up to a multiple of 8', () => {
    const full = clsBatches(enc, { batchSize: 8, seed: 1 }).next();
    expect(full).toMatchObject({ batchSize: 8, seqLen: SEQ });
    expect(full.inputIds).toHaveLength(8 * SEQ);
    expect(full.labels).toHaveLength(8);
    const short: EncodedExamples = {
      ...enc,
      examples: encodeExamples(
        tok,
        [
          { text: 'hi', label: 0, group: 'a' },
          { text: 'a slightly longer text here, with ten tokens', label: 1, group: 'b' },
        ],
        SEQ,
      ).examples,
    };
    const b = clsBatches(short, { batchSize: 2, seed: 1, shuffle: false, padding: 'longest' }).next();
    const lens = short.examples.map((e) => e.inputIds.length);
    expect(b.seqLen).toBe(Math.ceil(Math.max(...lens) / 8) * 8);
    expect([...b.labels]).toEqual([0, 1]);
    for (let r = 0; r < 2; r++) {
      for (let s = 0; s < b.seqLen; s++) {
        expect(b.attentionMask[r * b.seqLen + s]).toBe(s < lens[r] ? 1 : 0);
        expect(b.inputIds[r * b.seqLen + s]).toBe(s < lens[r] ? short.examples[r].inputIds[s] : tok.special.pad);
      }
    }
    const longest = clsBatches(enc, { batchSize: 16, seed: 1, padding: 'longest' }).next();
    expect(longest.seqLen % 8).toBe(0);
    expect(longest.seqLen).toBeLessThanOrEqual(SEQ);
  });

  it('are deterministic, reshuffled per epoch, and resume exactly from a saved state', () => {
    const a = clsBatches(enc, { batchSize: 32, seed: 4 });
    const b = clsBatches(enc, { batchSize: 32, seed: 4 });
    expect(a.next()).toEqual(b.next());
    for (let i = 0; i < 4; i++) a.next(); // 5 x 32 = 160: into the second epoch
    const saved = JSON.parse(JSON.stringify(a.getState()));
    expect(saved).toEqual({ kind: 'classification', examples: 100, epoch: 1, cursor: 60 });
    const c = clsBatches(enc, { batchSize: 32, seed: 4 });
    c.setState(saved);
    expect(c.next()).toEqual(a.next());
    expect(() => c.setState({ kind: 'mlm', sequences: 100, epoch: 0, cursor: 0, rng: 1 })).toThrow(/cannot resume classification batches/);
  });

  it('for evaluation visit every example once, in order', () => {
    const batches = [...clsEvalBatches(enc, { batchSize: 32 })];
    expect(batches.map((b) => b.batchSize)).toEqual([32, 32, 32, 4]);
    expect(batches.flatMap((b) => [...b.labels])).toEqual(enc.examples.map((e) => e.label));
    expect(batches[3].inputIds).toHaveLength(4 * SEQ);
  });
});
