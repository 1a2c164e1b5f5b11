import type { FileJobContext } from '../files/jobs.ts';
import type { RunnerContext } from '../runner-context.ts';

/** A job on a workspace's files: the workspace counts as used, then the job runs on its file layer. */
export function onFiles<J extends { workspaceId: string }, R>(
  run: (job: J, files: FileJobContext) => R,
): (job: J, ctx: RunnerContext) => R {
  return (job, ctx) => {
    ctx.touch(job.workspaceId);
    return run(job, ctx.fileJobs);
  };
}
