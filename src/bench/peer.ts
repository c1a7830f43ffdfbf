/**
 * The PyTorch peer of `bench train-step`: runs `shared/peers/torch_ref.py` with the same model,
 * vocabulary, batch and step counts in a child process, right before the tfjs steps, so the ratio
 * compares two measurements taken on the same machine in the same run.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The work of one training step, in torch_ref's terms: what the bench and its peer share. */
export interface StepShape {
  studentLayers: number;
  studentHidden: number;
  teacherLayers: number;
  teacherHidden: number;
  vocab: number;
  seq: number;
  batch: number;
  /** Timed steps, after the warm-up ones. */
  steps: number;
}

export interface PeerOptions extends StepShape {
  /** torch.set_num_threads. */
  threads: number;
}

export interface PeerResult {
  /** The command line that was run, to repeat it by hand. */
  command: string;
  torch_version: string;
  threads: number;
  step_ms: number;
  tokens_per_s: number;
}

/** Debian's python3 (where apt's python3-torch installs), unless PRUNE_ONCE_PYTHON names another. */
export function peerPython(): string {
  return process.env.PRUNE_ONCE_PYTHON || '/usr/bin/python3';
}

/** torch_ref's flags for the bench's options (its own names: --layers, --tlayers...). */
export function peerArgs(o: PeerOptions): string[] {
  return [
    '--layers',
    o.studentLayers,
    '--hidden',
    o.studentHidden,
    '--tlayers',
    o.teacherLayers,
    '--thidden',
    o.teacherHidden,
    '--vocab',
    o.vocab,
    '--seq',
    o.seq,
    '--batch',
    o.batch,
    '--steps',
    o.steps,
    '--threads',
    o.threads,
  ].map(String);
}

/** Reads torch_ref's last line: `torch 1.13.0 threads=2 step_ms=3814.0 tokens_per_s=1074`. */
export function parsePeerOutput(stdout: string): Omit<PeerResult, 'command'> {
  const m = /torch (\S+) threads=(\d+) step_ms=([\d.]+) tokens_per_s=(\d+)/.exec(stdout);
  if (!m)
    throw new Error(
      `torch_ref printed no result line (expected "torch <version> threads=N step_ms=X tokens_per_s=Y"); it printed:\n${stdout.trim().slice(-500)}`,
    );
  return { torch_version: m[1], threads: Number(m[2]), step_ms: Number(m[3]), tokens_per_s: Number(m[4]) };
}

/** Runs the peer and returns its figures; fails with what to install when torch is missing. */
export async function runTorchPeer(script: string, o: PeerOptions, python = peerPython()): Promise<PeerResult> {
  if (!existsSync(script)) throw new Error(`--peer: ${script} not found; pass the path of shared/peers/torch_ref.py`);
  const args = [script, ...peerArgs(o)];
  const command = [python, ...args].join(' ');
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => reject(new Error(`--peer: cannot run ${python} (${e.message}); set PRUNE_ONCE_PYTHON to a python3 with torch`)));
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  if (code !== 0) {
    const hint = /No module named 'torch'/.test(stderr)
      ? ' PyTorch is missing: apt-get install -y python3-torch libopenblas0-pthread (without OpenBLAS torch runs ~15x slower).'
      : '';
    throw new Error(`--peer: \`${command}\` exited with ${code}.${hint}\n${stderr.trim().slice(-800)}`);
  }
  return { command, ...parsePeerOutput(stdout) };
}
