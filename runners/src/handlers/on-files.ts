import type { FileJobContext } from '../files/jobs.ts';
import type { RunnerContext } from '../runner-context.ts';
import { fileIndexes } from '../search/file-indexes.ts';

/** A job on a workspace's files: the workspace counts as used, then the job runs on its file layer. */
export function onFiles<J extends { workspaceId: string }, R>(
  run: (job: J, files: FileJobContext) => R,
): (job: J, ctx: RunnerContext) => R {
  return (job, ctx) => {
    ctx.touch(job.workspaceId);
    const result = run(job, ctx.fileJobs);
    // Quick open's index follows the runner's own writes, renames and deletes without a listing.
    fileIndexes(ctx).after(job, result);
    return result;
  };
}
