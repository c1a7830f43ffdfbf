import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../src/distill/hook.js';
import { checkHookKeys, registerWorkerHook, workerHooks } from '../../src/train/hooks.js';
import { builtModule } from '../../src/train/parallel.js';

describe('worker hook recipes', () => {
  it('are registered by the hook modules themselves (importing distill/hook registers "distill")', () => {
    expect(workerHooks.has('distill')).toBe(true);
    expect(() => workerHooks.get('qat')).toThrow("unknown worker hook recipe 'qat'; known: distill");
    const factory = workerHooks.get('distill');
    registerWorkerHook('distill', () => {
      throw new Error('not this one');
    });
    expect(workerHooks.get('distill')).toBe(factory); // re-importing a module keeps the first registration
  });

  it('name a module the worker can import: a source file maps to its build under dist/', () => {
    const src = pathToFileURL(resolve('src/distill/hook.ts')).href;
    const built = builtModule(src);
    expect(fileURLToPath(built)).toBe(resolve('dist/distill/hook.js'));
    expect(existsSync(fileURLToPath(built))).toBe(true);
    const js = pathToFileURL(resolve('dist/distill/hook.js')).href;
    expect(builtModule(js)).toBe(js);
  });

  it('checkpoint keys default to the name and must be unique', () => {
    expect(() => checkHookKeys([{ name: 'pruner' }, { name: 'pattern-lock', key: 'pruner' }])).toThrow(
      "hooks 'pruner' and 'pattern-lock' share the checkpoint key 'pruner'",
    );
    expect(() => checkHookKeys([{ name: 'pruner' }, { name: 'pruner', key: 'pruner-2' }, { name: 'distill' }])).not.toThrow();
  });
});
