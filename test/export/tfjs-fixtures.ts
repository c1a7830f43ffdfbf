/**
 * Shared by the transformers.js tests (Node and Chromium): the hard texts, the 1,000-text tokenizer
 * sample, and the smoke run's test split.
 */
import { loadTask, sotuAddresses, spamAssassinTask } from '../../src/data/index.js';
import type { Example } from '../../src/data/types.js';

const long = Array.from({ length: 60 }, (_, i) => `word${i} costs $${i}.99!`).join(' ');

/** Text that stresses every normalization and splitting rule, and the truncation. */
export const HARD_TEXTS: string[] = [
  '',
  '   \t\n  ',
  'Héllo Wörld, ça va? Crème brûlée, naïve café, SÃO PAULO, Ångström',
  'e\u0301 combining acute, Ω ohm sign, ﬁ ligature, ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ',
  '中文字符测试，日本語のテキスト。한국어 텍스트 and 漢字mixed英文',
  'astral CJK: 𠀀𠀁a𪚥b 𫝀 and 丽 compatibility',
  'I ❤️ pizza 🍕🍕 👨‍👩‍👧 family 🇫🇷 flag 👍🏽 ok!!!',
  'Visit http://example.com/path?query=1&x=y#frag or www.test.org/a_b-c~d, mail me@example.co.uk',
  `a${'b'.repeat(120)} short ${'x'.repeat(100)} ${'y'.repeat(101)} pneumonoultramicroscopicsilicovolcanoconiosis`,
  `${'supercalifragilistic'.repeat(6)}ally`,
  long,
  `FREE!!! ${'buy now and win a cruise '.repeat(20)}`,
  'ΟΔΟΣ Σίσυφος ὀδυσσεύς, русский текст, العربية, עברית, ภาษาไทย, हिन्दी',
  'non\u00a0breaking\u2028line\u2029para\u3000ideographic\u2003em space\u200bzero\u00adsoft\ufeffbom\u0007bell\u0000nul',
  'tabs\tand\r\nnewlines\rand  double  spaces',
  "don't won't y'all (parens) [brackets] {braces} <angle> \"quotes\" 'single' «guillemets» „low“ — dash … ellipsis",
  '$1,000,000.00 50% off 3.14159 1e-10 #hashtag @mention ^caret `backtick` |pipe| \\backslash',
  'ALL CAPS SHOUTING MIXED case WoRdS',
  'Subject: Re: [SPAM] Your account\n\nDear user, click here: https://bit.ly/3xYz to verify.',
];

/** 1,000+ texts: SOTU paragraphs, SpamAssassin messages and the hard texts. */
export function tokenizerSample(): string[] {
  // Each address is one line of text: passages of three sentences, 600 spread over all addresses.
  const passages = sotuAddresses().flatMap((a) => {
    const sentences = a.text.split(/(?<=[.!?])\s+/);
    return Array.from({ length: Math.ceil(sentences.length / 3) }, (_, i) => sentences.slice(3 * i, 3 * i + 3).join(' '));
  });
  const step = Math.floor(passages.length / 600);
  const sotu = passages.filter((_, i) => i % step === 0).slice(0, 600);
  const spam = spamAssassinTask({ seed: 3 })
    .train.slice(0, 400)
    .map((e) => e.text);
  return [...sotu, ...spam, ...HARD_TEXTS];
}

/** The smoke pipeline's test split (pipelines/smoke.yaml: spam-assassin, seed 7, 64 a split). */
export function smokeTestSplit(): Example[] {
  return loadTask({ kind: 'spam-assassin', seed: 7, maxPerSplit: 64 }).test;
}
