#!/usr/bin/env node
/**
 * docs/cli.md is every command's `--help`, as the built CLI (dist/cli/program.js) prints it: this
 * script finds the commands by reading the `Commands:` section of each help text, top-down, so a
 * new command or subcommand is documented without touching it.
 *
 *   node scripts/cli-docs.mjs           rewrite docs/cli.md (`npm run docs:cli`; build first)
 *   node scripts/cli-docs.mjs --check   exit 1, naming the first differing line, when docs/cli.md is
 *                                       not what --help prints (test/docs/docs.test.ts runs this)
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DOC = join(ROOT, 'docs', 'cli.md');
const { program } = await import(pathToFileURL(join(ROOT, 'dist', 'cli', 'program.js')).href);

/** `--help` of `prune-once <words>`, wrapped at the CLI's widest (110 columns) whatever the terminal. */
async function help(words) {
  const args = [...words, '--help'];
  const p = (await program(args)).exitProcess(false).wrap(110);
  const output = await new Promise((resolve, reject) => p.parse(args, {}, (err, _argv, out) => (err ? reject(err) : resolve(out))));
  return output.trimEnd();
}

/** The subcommands a help text lists: `  prune-once bench inference <model>  ...` -> ['bench', 'inference']. */
function subcommands(text, words) {
  const section = /\nCommands:\n([\s\S]*?)(\n\n|$)/.exec(text);
  if (!section) return [];
  const names = [];
  for (const line of section[1].split('\n')) {
    const m = /^ {2}prune-once ((?:[a-z][\w-]*)(?: [a-z][\w-]*)*)/.exec(line);
    if (m) {
      const full = m[1].split(' ');
      if (full.length === words.length + 1) names.push(full);
    }
  }
  return names;
}

async function reference() {
  const sections = [];
  const visit = async (words) => {
    const text = await help(words);
    sections.push({ words, text });
    for (const sub of subcommands(text, words)) await visit(sub);
  };
  await visit([]);
  sections.sort((a, b) => a.words.join(' ').localeCompare(b.words.join(' ')));
  const body = sections.map(({ words, text }) => `## prune-once ${words.join(' ')}`.trimEnd() + '\n\n```\n' + text + '\n```\n');
  return [
    '# Command reference',
    '',
    "Generated from each command's `--help` by `npm run docs:cli` (scripts/cli-docs.mjs); a test fails when",
    'this file and `--help` differ. Edit the commands in src/cli/commands/, not this file.',
    '',
    ...body,
  ].join('\n');
}

const text = await reference();
if (process.argv.includes('--check')) {
  const have = readFileSync(DOC, 'utf8').split('\n');
  const want = text.split('\n');
  const i = want.findIndex((line, k) => have[k] !== line);
  if (i >= 0 || have.length !== want.length) {
    const at = i >= 0 ? i : Math.min(have.length, want.length);
    process.stderr.write(
      `docs/cli.md is out of step with --help at line ${at + 1}:\n  docs/cli.md: ${JSON.stringify(have[at])}\n  --help:      ${JSON.stringify(want[at])}\n` +
        'fix: npm run build && npm run docs:cli, then commit docs/cli.md\n',
    );
    process.exit(1);
  }
} else {
  writeFileSync(`${DOC}.tmp`, text);
  renameSync(`${DOC}.tmp`, DOC);
}
