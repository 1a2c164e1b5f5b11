import { JobError } from '../job-error.ts';
import { fileIndexes } from '../search/file-indexes.ts';
import { searchStart } from '../search/search-job.ts';
import { WorkloadError } from '../workloads/types.ts';
import type { JobHandlers, JobOf } from './table.ts';

/** Quick open: the runner's index of the workspace's file names, listed inside it when needed. */
async function filesFind(job: JobOf<'files.find'>, ctx: Parameters<JobHandlers['files.find']>[1]) {
  ctx.touch(job.workspaceId);
  const index = fileIndexes(ctx).of(job.workspaceId);
  try {
    return await index.find(job.query, job.limit);
  } catch (err) {
    if (err instanceof WorkloadError && err.code === 'WORKLOAD_NOT_RUNNING') {
      throw new JobError('workspace_not_running', 'The workspace is not running; start it to find its files');
    }
    if (err instanceof WorkloadError && err.code === 'WORKLOAD_NOT_FOUND') {
      throw new JobError('not_found', 'No such workspace');
    }
    throw err;
  }
}

export const searchHandlers = {
  'files.find': filesFind,
  'search.start': searchStart,
} satisfies Partial<JobHandlers>;
