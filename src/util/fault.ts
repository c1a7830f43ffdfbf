/**
 * A test hook that places a fault deterministically, instead of racing a short-lived file: with
 * PRUNE_ONCE_TEST_FAULT=`<during-write|after-write>:<path suffix>[#n]:<signal>` the process sends
 * itself the signal in the middle of (or right after) the n-th atomic write (default: the first)
 * of a file whose path ends with the suffix, e.g. `after-write:qat/resume.ckpt:SIGKILL` or
 * `during-write:teacher/resume.ckpt#2:SIGINT`. Unset (always, outside tests), it does nothing.
 */
import { sep } from 'node:path';

type When = 'during-write' | 'after-write';

interface FaultSpec {
  when: When;
  suffix: string;
  nth: number;
  signal: NodeJS.Signals;
}

function parse(text: string | undefined): FaultSpec | null {
  if (!text) return null;
  const m = /^(during-write|after-write):(.+?)(?:#(\d+))?:(SIG[A-Z]+)$/.exec(text);
  if (!m)
    throw new Error(`PRUNE_ONCE_TEST_FAULT=${text}: expected <during-write|after-write>:<path suffix>[#n]:<SIGNAL>, e.g. after-write:qat/resume.ckpt:SIGKILL`);
  return { when: m[1] as When, suffix: m[2].split('/').join(sep), nth: m[3] ? Number(m[3]) : 1, signal: m[4] as NodeJS.Signals };
}

let spec: FaultSpec | null | undefined;
let seen = 0;

/** Called by writeFileAtomic at each point where a fault may be placed. */
export function faultPoint(when: When, path: string): void {
  if (spec === undefined) spec = parse(process.env.PRUNE_ONCE_TEST_FAULT);
  if (!spec || spec.when !== when || !path.endsWith(spec.suffix)) return;
  seen += 1;
  if (seen === spec.nth) process.kill(process.pid, spec.signal);
}
