/** Install scripts by policy, and no npm warning from the project's own config. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('install scripts by policy', () => {
  it('package.json declares allowScripts for every dependency with an install script', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { allowScripts?: Record<string, boolean> };
    const allow = pkg.allowScripts ?? {};
    const decided = (name: string) => Object.keys(allow).some((k) => k === name || k.startsWith(`${name}@`));
    for (const name of ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'onnxruntime-node', 'esbuild', 'core-js', 'protobufjs'])
      expect(decided(name), name).toBe(true);
    expect(allow['onnxruntime-node']).toBe(false);
    const ls = spawnSync('npm', ['install-scripts', 'ls'], { encoding: 'utf8' });
    expect(`${ls.stdout}${ls.stderr}`).not.toMatch(/not yet covered|onnxruntime-node@|core-js@/);
  });

  it('npx prune-once --help prints no npm warning', () => {
    const npmrc = existsSync('.npmrc') ? readFileSync('.npmrc', 'utf8') : '';
    expect(npmrc).not.toMatch(/onnxruntime-node-install/);
    // npx installs this directory into its cache as a `file:` dependency, which runs its `prepare`
    // script (clean, then build) in this very directory: dist/ would vanish for the ~10 s of the
    // build while other test files run the CLI from it (and the first call of a fresh clone took
    // 15 s). --ignore-scripts skips that; npx still resolves the project's bin and npm still reads
    // the project's .npmrc, which is what could warn.
    const r = spawnSync('npx', ['--offline', '--ignore-scripts', 'prune-once', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/prune-once <command>/);
    expect(r.stderr).not.toMatch(/npm warn/i);
  });
});
