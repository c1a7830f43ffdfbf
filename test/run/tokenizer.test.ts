/** The one rule that picks a run's tokenizer, used by the run and by `export --format safetensors`. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeHfTokenizer } from '../../src/import/hf-tokenizer.js';
import { runTokenizer } from '../../src/run/tokenizer.js';
import { bertUncasedVocab } from '../../src/tokenizer/index.js';
import { tempDir } from '../helpers.js';

const SMALL = [...bertUncasedVocab().slice(0, 2000), ...bertUncasedVocab().slice(29612)];

describe('a run tokenizer', () => {
  it('builds the corpus subset once into <run>/vocab.txt, then reads it (and needs it when it cannot build it)', () => {
    const run = tempDir();
    const settings = { vocab: 'corpus-subset', size: 1200 };
    expect(() => runTokenizer({ settings, runDir: run })).toThrow(new RegExp(`${join(run, 'vocab.txt')} not found`));
    const made = runTokenizer({ settings, runDir: run, subsetTexts: () => ['the state of the union is strong', 'congress shall make no law'] });
    // At most `size` entries: the specials, the texts' WordPieces and the characters they need.
    expect(made.vocabSize).toBeGreaterThan(20);
    expect(made.vocabSize).toBeLessThanOrEqual(1200);
    expect(made.encode('the union')).not.toContain(made.special.unk);
    expect(made.describe()).toMatchObject({ lowercase: true, vocabSize: made.vocabSize, vocabSource: 'bert-base-uncased subset (1200)' });
    const again = runTokenizer({ settings, runDir: run });
    expect(again.vocab).toEqual(made.vocab);
    expect(readFileSync(join(run, 'vocab.txt'), 'utf8').split('\n').filter(Boolean)).toEqual(made.vocab);
  });

  it("prefers a Hugging Face teacher's vocabulary and casing over tokenizer.vocab, and says so", () => {
    const dir = tempDir();
    writeHfTokenizer(dir, SMALL, false, 64);
    const log: string[] = [];
    const t = runTokenizer({ settings: { vocab: 'bert-base-uncased', size: 8192 }, runDir: tempDir(), hfDir: dir, log: (m) => log.push(m) });
    expect(t.vocabSize).toBe(SMALL.length);
    expect(t.lowercase).toBe(false);
    expect(log.join('\n')).toMatch(/tokenizer\.vocab 'bert-base-uncased' ignored/);
  });

  it('reads bert-base-uncased, or a vocab.txt path from the working directory or a search directory', () => {
    expect(runTokenizer({ settings: { vocab: 'bert-base-uncased', size: 8192 }, runDir: tempDir() }).vocabSize).toBe(30522);
    const dir = tempDir();
    writeFileSync(join(dir, 'my-vocab.txt'), `${SMALL.join('\n')}\n`);
    const t = runTokenizer({ settings: { vocab: 'my-vocab.txt', size: 8192 }, runDir: tempDir(), searchDirs: [dir] });
    expect(t.vocabSize).toBe(SMALL.length);
    expect(t.describe().vocabSource).toBe('my-vocab.txt');
    expect(existsSync('my-vocab.txt')).toBe(false);
  });
});
