/**
 * A test hook that places a fault deterministically, instead of racing a short-lived file: with
 * PRUNE_ONCE_TEST_FAULT=`<during-write|after-write>:<path suffix>[#n]:<signal or errno code>` the
 * process sends itself the signal, or the write fails with that file-system error (as `writeSync`
 * throws it: a full disk without needing one), in the middle of (or right after) the n-th atomic
 * write (default: the first) of a file whose path ends with the suffix, e.g.
 * `after-write:qat/resume.ckpt:SIGKILL`, `during-write:teacher/resume.ckpt#2:SIGINT` or
 * `during-write:prune-distill/model.ckpt:ENOSPC`. Unset (always, outside tests), it does nothing.
 */
import { sep } from 'node:path';

type When = 'during-write' | 'after-write';

interface FaultSpec {
  when: When;
  suffix: string;
  nth: number;
  /** A signal (SIGKILL, SIGINT, ...) or an errno code (ENOSPC, EDQUOT, ...). */
  fault: string;
}

/** What Node's fs says for the errno codes a test may inject. */
const ERRNO: Record<string, { errno: number; message: string }> = {
  ENOSPC: { errno: -28, message: 'no space left on device' },
  EDQUOT: { errno: -122, message: 'disk quota exceeded' },
  EIO: { errno: -5, message: 'i/o error' },
};

function parse(text: string | undefined): FaultSpec | null {
  if (!text) return null;
  const m = /^(during-write|after-write):(.+?)(?:#(\d+))?:(SIG[A-Z]+|E[A-Z]+)$/.exec(text);
  if (!m || (m[4].startsWith('E') && !ERRNO[m[4]]))
    throw new Error(
      `PRUNE_ONCE_TEST_FAULT=${text}: expected <during-write|after-write>:<path suffix>[#n]:<SIGNAL or ${Object.keys(ERRNO).join('|')}>, e.g. after-write:qat/resume.ckpt:SIGKILL`,
    );
  return { when: m[1] as When, suffix: m[2].split('/').join(sep), nth: m[3] ? Number(m[3]) : 1, fault: m[4] };
}

let spec: FaultSpec | null | undefined;
let seen = 0;

/** Called by writeFileAtomic at each point where a fault may be placed. */
export function faultPoint(when: When, path: string): void {
  if (spec === undefined) spec = parse(process.env.PRUNE_ONCE_TEST_FAULT);
  if (!spec || spec.when !== when || !path.endsWith(spec.suffix)) return;
  seen += 1;
  if (seen !== spec.nth) return;
  const errno = ERRNO[spec.fault];
  if (!errno) process.kill(process.pid, spec.fault as NodeJS.Signals);
  else throw Object.assign(new Error(`${spec.fault}: ${errno.message}, write`), { code: spec.fault, errno: errno.errno, syscall: 'write' });
}
