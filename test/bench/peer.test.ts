import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePeerOutput, peerArgs, peerPython, runTorchPeer } from '../../src/bench/peer.js';

const TORCH_REF = resolve(__dirname, '../../../shared/peers/torch_ref.py');
const tiny = { studentLayers: 1, studentHidden: 64, teacherLayers: 1, teacherHidden: 64, vocab: 50, seq: 8, batch: 2, steps: 1, threads: 1 };

/** The real peer runs only where PyTorch is installed (apt's python3-torch); CI machines may lack it. */
function hasTorch(): boolean {
  try {
    execFileSync(peerPython(), ['-c', 'import torch'], { stdio: 'ignore' });
    return existsSync(TORCH_REF);
  } catch {
    return false;
  }
}

describe('PyTorch peer', () => {
  it("passes the bench options under torch_ref's own flag names", () => {
    expect(peerArgs(tiny)).toEqual([
      '--layers',
      '1',
      '--hidden',
      '64',
      '--tlayers',
      '1',
      '--thidden',
      '64',
      '--vocab',
      '50',
      '--seq',
      '8',
      '--batch',
      '2',
      '--steps',
      '1',
      '--threads',
      '1',
    ]);
  });

  it("reads torch_ref's result line and says what it got when there is none", () => {
    expect(parsePeerOutput('warning: x\ntorch 1.13.0a0 threads=2 step_ms=3814.0 tokens_per_s=1074\n')).toEqual({
      torch_version: '1.13.0a0',
      threads: 2,
      step_ms: 3814,
      tokens_per_s: 1074,
    });
    expect(() => parsePeerOutput('Traceback: boom')).toThrow(/no result line[\s\S]*boom/);
  });

  it('names the missing script', async () => {
    await expect(runTorchPeer('/nonexistent/torch_ref.py', tiny)).rejects.toThrow(/--peer: \/nonexistent\/torch_ref.py not found/);
  });

  it.skipIf(!hasTorch())('runs the real torch_ref with the given shape', async () => {
    const r = await runTorchPeer(TORCH_REF, tiny);
    expect(r.threads).toBe(1);
    expect(r.tokens_per_s).toBeGreaterThan(0);
    expect(r.step_ms).toBeCloseTo((2 * 8 * 1000) / r.tokens_per_s, -1);
    expect(r.command).toContain('--batch 2');
  });
});
