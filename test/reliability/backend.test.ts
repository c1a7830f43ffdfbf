/** The backend line says why a native backend is not used, and what fixes it. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { describeBackend, selectBackend } from '../../src/backend/select.js';

const installed = (pkg: string) => {
  try {
    createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
};

describe('backend line', () => {
  it.skipIf(installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu'))(
    'names the missing native packages and the command that installs them',
    async () => {
      const line = describeBackend(await selectBackend('auto'));
      expect(line).toMatch(/tensorflow-gpu: @tensorflow\/tfjs-node-gpu not installed \(npm install @tensorflow\/tfjs-node-gpu\)/);
      expect(line).toMatch(/tensorflow: @tensorflow\/tfjs-node not installed \(npm install @tensorflow\/tfjs-node\)/);
    },
  );
});
