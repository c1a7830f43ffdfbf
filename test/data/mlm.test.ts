import { beforeAll, describe, expect, it } from 'vitest';
import { EpochOrder } from '../../src/data/epochs.js';
import { maskSequence, specialIdSet } from '../../src/data/masking.js';
import { mlmBatches, mlmEvalBatches } from '../../src/data/mlm-batches.js';
import { packSequences } from '../../src/data/packing.js';
import { sotuDocuments } from '../../src/data/sotu.js';
import type { Document, MlmBatch, MlmCorpus } from '../../src/data/types.js';
import { loadTokenizer } from '../../src/tokenizer/index.js';
import type { Tokenizer } from '../../src/tokenizer/types.js';
import { Rng } from '../../src/util/rng.js';

let tok: Tokenizer;
let docs: Document[];
let corpus: MlmCorpus;
const SEQ = 64;

beforeAll(() => {
  tok = loadTokenizer();
  docs = sotuDocuments().filter((d) => d.id.startsWith('201')); // the 2010s: 7 addresses, ~45k tokens
  corpus = packSequences(tok, docs, SEQ);
});

describe('packing', () => {
  it('cuts the document stream into [CLS] … [SEP] chunks of seqLen, [SEP] between documents', () => {
    const { cls, sep } = tok.special;
    const n = corpus.sequences.length;
    expect(n).toBeGreaterThan(500);
    corpus.sequences.forEach((s, i) => {
      expect(s[0]).toBe(cls);
      expect(s[s.length - 1]).toBe(sep);
      expect(s[1]).not.toBe(sep); // a chunk never starts with the document separator
      if (i < n - 1) expect(s.length).toBe(SEQ);
    });
    // The chunk bodies, joined and cut at the separators, give back each document's tokens.
    const bodies = corpus.sequences.flatMap((s) => [...s.subarray(1, s.length - 1)]);
    const perDoc: number[][] = [[]];
    for (const id of bodies) {
      if (id === sep) perDoc.push([]);
      else perDoc[perDoc.length - 1].push(id);
    }
    expect(perDoc).toEqual(docs.map((d) => tok.encode(d.text)));
    expect(corpus).toMatchObject({ seqLen: SEQ, vocabSize: tok.vocabSize, special: tok.special });
  });

  it('packs short documents together and keeps a short tail', () => {
    const small = packSequences(
      tok,
      [
        { id: 'a', text: 'Hello world.', group: 'a' },
        { id: 'b', text: '', group: 'b' },
        { id: 'c', text: 'Good night.', group: 'c' },
      ],
      32,
    );
    expect(small.sequences).toHaveLength(1);
    expect(tok.idsToTokens([...small.sequences[0]])).toEqual(['[CLS]', 'hello', 'world', '.', '[SEP]', 'good', 'night', '.', '[SEP]']);
    expect(() => packSequences(tok, [{ id: 'e', text: ' ', group: 'e' }], 32)).toThrow(/no tokens/);
    expect(() => packSequences(tok, docs, 2)).toThrow(/seqLen/);
  });
});

describe('masking', () => {
  it('selects ~15% of non-special tokens, 80/10/10 mask/random/unchanged, never a special', () => {
    const rng = new Rng(1);
    const specials = specialIdSet(tok.special);
    let eligible = 0;
    let selected = 0;
    let masked = 0;
    let random = 0;
    let kept = 0;
    const problems: string[] = []; // collected rather than asserted per token: keeps the test fast
    for (const ids of corpus.sequences) {
      const m = maskSequence(ids, rng, { special: tok.special, vocabSize: tok.vocabSize });
      const n = ids.filter((id) => !specials.has(id)).length;
      eligible += n;
      selected += m.positions.length;
      if (m.positions.length !== Math.max(1, Math.round(0.15 * n))) problems.push(`count ${m.positions.length} of ${n}`);
      m.positions.forEach((p, k) => {
        if (specials.has(ids[p])) problems.push(`special ${ids[p]} selected`);
        if (m.labels[k] !== ids[p]) problems.push(`label ${m.labels[k]} != ${ids[p]}`);
        if (k > 0 && p <= m.positions[k - 1]) problems.push('positions not ascending');
        if (m.input[p] === tok.special.mask) masked++;
        else if (m.input[p] === ids[p]) kept++;
        else {
          random++;
          if (specials.has(m.input[p]) || m.input[p] < 0 || m.input[p] >= tok.vocabSize) problems.push(`bad random id ${m.input[p]}`);
        }
      });
      const chosen = new Set(m.positions);
      ids.forEach((id, i) => chosen.has(i) || m.input[i] === id || problems.push(`unselected position ${i} changed`));
    }
    expect(problems).toEqual([]);
    expect(selected).toBeGreaterThan(5000);
    expect(selected / eligible).toBeCloseTo(0.15, 2);
    expect(masked / selected).toBeGreaterThan(0.78);
    expect(masked / selected).toBeLessThan(0.82);
    expect(random / selected).toBeGreaterThan(0.085);
    expect(random / selected).toBeLessThan(0.115);
    expect(kept / selected).toBeGreaterThan(0.085);
    expect(kept / selected).toBeLessThan(0.115);
  });

  it('masks at least one token, and none of [CLS] [SEP] [PAD] [UNK]', () => {
    const { cls, sep, pad, unk } = tok.special;
    const word = tok.encode('hello')[0];
    for (let seed = 0; seed < 50; seed++) {
      const m = maskSequence(Int32Array.from([cls, unk, word, sep, pad, pad]), new Rng(seed), { special: tok.special, vocabSize: tok.vocabSize });
      expect([...m.positions]).toEqual([2]);
      expect([...m.labels]).toEqual([word]);
    }
    expect(maskSequence(Int32Array.from([cls, sep]), new Rng(0), { special: tok.special, vocabSize: tok.vocabSize }).positions).toHaveLength(0);
  });
});

describe('MLM batches', () => {
  const same = (a: MlmBatch, b: MlmBatch) => expect(a).toEqual(b);

  it('are padded with [PAD] and a zero attention mask, masked positions flat and inside the text', () => {
    const it = mlmBatches(corpus, { batchSize: 4, seed: 1, shuffle: false });
    const last = corpus.sequences.length - 1;
    // Walk to the batch holding the short tail sequence (unshuffled: sequences in order).
    let batch = it.next();
    for (let i = 4; i <= last - (last % 4); i += 4) batch = it.next();
    expect(batch).toMatchObject({ batchSize: 4, seqLen: SEQ });
    for (const arr of [batch.inputIds, batch.tokenTypeIds, batch.attentionMask]) expect(arr).toHaveLength(4 * SEQ);
    expect(batch.tokenTypeIds.every((t) => t === 0)).toBe(true);
    const row = last % 4;
    const len = corpus.sequences[last].length;
    expect(len).toBeLessThan(SEQ);
    for (let s = 0; s < SEQ; s++) {
      expect(batch.attentionMask[row * SEQ + s]).toBe(s < len ? 1 : 0);
      if (s >= len) expect(batch.inputIds[row * SEQ + s]).toBe(tok.special.pad);
    }
    expect(batch.maskedPositions.length).toBe(batch.maskedLabels.length);
    batch.maskedPositions.forEach((p, k) => {
      expect(batch.attentionMask[p]).toBe(1);
      const b = Math.floor(p / SEQ);
      const seq = (last - row + b) % corpus.sequences.length; // rows after the tail wrap into the next epoch
      expect(corpus.sequences[seq][p % SEQ]).toBe(batch.maskedLabels[k]);
    });
  });

  it('redraw masks at every visit and are deterministic from the seed', () => {
    const n = corpus.sequences.length;
    const a = mlmBatches(corpus, { batchSize: n, seed: 3, shuffle: false });
    const first = a.next();
    const second = a.next(); // same sequences, fresh masks
    expect(second.maskedLabels.length).toBe(first.maskedLabels.length);
    expect(second.inputIds).not.toEqual(first.inputIds);
    const b = mlmBatches(corpus, { batchSize: 8, seed: 3 });
    const c = mlmBatches(corpus, { batchSize: 8, seed: 3 });
    for (let i = 0; i < 3; i++) same(b.next(), c.next());
    expect(mlmBatches(corpus, { batchSize: 8, seed: 4 }).next().inputIds).not.toEqual(mlmBatches(corpus, { batchSize: 8, seed: 3 }).next().inputIds);
  });

  it('resume from a saved state with the same next batch, across an epoch boundary', () => {
    const n = corpus.sequences.length;
    const a = mlmBatches(corpus, { batchSize: 16, seed: 9 });
    const steps = Math.ceil(n / 16) - 1; // the next batch straddles epochs 0 and 1
    for (let i = 0; i < steps; i++) a.next();
    const saved = JSON.parse(JSON.stringify(a.getState()));
    const b = mlmBatches(corpus, { batchSize: 16, seed: 9 });
    b.setState(saved);
    for (let i = 0; i < 3; i++) same(b.next(), a.next());
    expect(b.getState().epoch).toBe(1);
    const other = { ...corpus, sequences: corpus.sequences.slice(1) };
    expect(() => mlmBatches(other, { batchSize: 16, seed: 9 }).setState(saved)).toThrow(/cannot resume MLM batches/);
  });

  it('for evaluation use the same masks every pass and cover every sequence once', () => {
    const held = { ...corpus, sequences: corpus.sequences.slice(0, 100) };
    const pass = () => [...mlmEvalBatches(held, { batchSize: 32, seed: 5 })];
    const one = pass();
    expect(pass()).toEqual(one);
    expect(one.map((b) => b.batchSize)).toEqual([32, 32, 32, 4]);
    const rows = one.flatMap((b) => Array.from({ length: b.batchSize }, (_, r) => b.attentionMask.subarray(r * SEQ, (r + 1) * SEQ).reduce((x, y) => x + y, 0)));
    expect(rows).toEqual(held.sequences.map((s) => s.length)); // in corpus order
    expect(one[0].inputIds.subarray(0, SEQ).filter((id) => id === tok.special.mask).length).toBeGreaterThan(0);
  });
});

describe('epoch order', () => {
  it('is a fresh permutation every epoch and fills batches across epochs', () => {
    const order = new EpochOrder(10, 1, true);
    const e0 = order.take(10);
    const e1 = order.take(10);
    expect([...e0].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...e1].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(e1).not.toEqual(e0);
    expect(order.take(15)).toHaveLength(15);
    expect(order.state).toEqual({ epoch: 3, cursor: 5 });
    expect(new EpochOrder(4, 1, false).take(6)).toEqual([0, 1, 2, 3, 0, 1]);
    expect(() => (order.state = { epoch: 0, cursor: 11 })).toThrow(/invalid batch iterator state/);
  });
});
