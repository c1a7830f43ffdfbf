/**
 * `--task NAME`, the same on every command that takes a run: in a multi-task run (`tasks:`), the
 * task to act on, as if its directory `<run>/tasks/NAME` were given (src/run/locate.ts applies it).
 */
export const TASK_OPTION = {
  type: 'string',
  describe: 'in a multi-task run (a pipeline with tasks:), the task to act on, as if <run>/tasks/NAME were given; `inspect <run>` lists them',
} as const;
