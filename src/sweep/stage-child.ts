/** Child process of StageChildPool: runs the stage jobs its parent sends, one at a time, and reports each. */
import { executeStageJob, type StageJobData } from './execute.js';

// The parent died (SIGKILL) or has no more jobs for this process: stop (a job cut short leaves its
// resume.ckpt for the retry instead of racing it).
process.on('disconnect', () => process.exit(70));

process.on('message', (m: { cacheDir: string; job: StageJobData; backend?: string; quiet?: boolean }) => {
  executeStageJob(m.cacheDir, m.job, { backend: m.backend, quiet: m.quiet }).then(
    (outcome) => process.send!({ ok: true, outcome }),
    // The parent kills a child whose job failed: its state is not trusted for the next job.
    (e: Error) => process.send!({ ok: false, error: e.message }),
  );
});
