/**
 * Cutting long unbroken text into passages of whole sentences. The SOTU texts carry no paragraph
 * breaks (each address is a single line), so "paragraphs" for classification are made here:
 * consecutive sentences packed up to a word budget that fits a 128-token BERT input.
 */

/** Titles and abbreviations after which a period does not end a sentence. */
const NO_BREAK_AFTER = new Set([
  'mr',
  'mrs',
  'ms',
  'messrs',
  'dr',
  'st',
  'hon',
  'gen',
  'col',
  'capt',
  'lt',
  'gov',
  'sen',
  'rep',
  'prof',
  'jr',
  'sr',
  'no',
  'nos',
  'vs',
  'co',
  'inc',
  'ft',
  'mt',
  'u.s',
  'e.g',
  'i.e',
]);

/** Sentences of `text`: breaks after . ! ? (and a closing quote/bracket) before a capital or digit. */
export function sentences(text: string): string[] {
  const out: string[] = [];
  const re = /[.!?]["')\]]?\s+(?=["'(\[]?[A-Z0-9])/g;
  let start = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const before = text.slice(start, m.index);
    const lastWord = /([A-Za-z.]+)$/.exec(before)?.[1] ?? '';
    // "Mr. Speaker", "John F. Kennedy": a title or a single initial is not a sentence end.
    if (text[m.index] === '.' && (NO_BREAK_AFTER.has(lastWord.toLowerCase()) || /^[A-Z]$/.test(lastWord))) continue;
    const end = m.index + m[0].trimEnd().length;
    const s = text.slice(start, end).trim();
    if (s) out.push(s);
    start = m.index + m[0].length;
  }
  const tail = text.slice(start).trim();
  if (tail) out.push(tail);
  return out;
}

export function wordCount(text: string): number {
  const t = text.trim();
  return t ? t.split(/\s+/).length : 0;
}

export interface PassageOptions {
  /** Sentences are added while the passage stays within this many words (a longer sentence stands alone). */
  maxWords: number;
  /** Passages with fewer words are dropped (fragments, salutations, the tail). */
  minWords: number;
}

/** Consecutive whole sentences, greedily packed up to `maxWords`; passages under `minWords` dropped. */
export function passages(text: string, opts: PassageOptions): string[] {
  const out: string[] = [];
  let current: string[] = [];
  let words = 0;
  const flush = () => {
    if (current.length > 0 && words >= opts.minWords) out.push(current.join(' '));
    current = [];
    words = 0;
  };
  for (const s of sentences(text)) {
    const n = wordCount(s);
    if (current.length > 0 && words + n > opts.maxWords) flush();
    current.push(s);
    words += n;
  }
  flush();
  return out;
}
