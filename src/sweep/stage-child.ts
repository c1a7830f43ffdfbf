/** Child process of executeInChild: runs one stage job, reports to the parent, exits. */
import { executeStageJob, type StageJobData } from './execute.js';

// The parent died (SIGKILL): stop, leaving resume.ckpt for the retry instead of racing it.
process.on('disconnect', () => process.exit(70));

process.once('message', (m: { cacheDir: string; job: StageJobData; backend?: string; quiet?: boolean }) => {
  executeStageJob(m.cacheDir, m.job, { backend: m.backend, quiet: m.quiet }).then(
    (outcome) => process.send!({ ok: true, outcome }, () => process.exit(0)),
    (e: Error) => process.send!({ ok: false, error: e.message }, () => process.exit(1)),
  );
});
