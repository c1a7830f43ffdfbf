import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

describe('documentation kept in step with the code', () => {
  it("docs/cli.md is exactly every command's --help (regenerate with npm run docs:cli)", () => {
    const r = spawnSync(process.execPath, ['scripts/cli-docs.mjs', '--check'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the README stays under 200 lines and gives the two set-up commands as they are', () => {
    const readme = read('README.md');
    expect(readme.split('\n').length).toBeLessThanOrEqual(200);
    expect(readme).toContain('npm ci && npx prune-once run pipelines/prune-once.yaml');
    expect(readme).toMatch(/^npm test\b/m);
  });

  it("names every package.json dependency in docs/architecture.md's dependency table, with a reason", () => {
    const pkg = JSON.parse(read('package.json')) as Record<string, Record<string, string> | undefined>;
    const names = ['dependencies', 'optionalDependencies', 'devDependencies'].flatMap((k) => Object.keys(pkg[k] ?? {}));
    const doc = read('docs/architecture.md');
    const table = doc.slice(doc.indexOf('## Dependencies'));
    const rows = table.split('\n').filter((l) => l.startsWith('| `'));
    for (const name of names) {
      const row = rows.filter((l) => l.split('|')[1].includes(`\`${name}\``));
      expect(row, `${name} in exactly one row of docs/architecture.md's dependency table`).toHaveLength(1);
      expect(row[0].split('|')[2].trim().length, `the reason ${name} is there`).toBeGreaterThan(10);
    }
  });
});
