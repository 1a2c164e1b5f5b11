import { applyPatchJob, validatePatchJob } from '../patch/jobs.ts';
import type { JobHandlers } from './table.ts';

export const patchHandlers = {
  'patch.validate': (job, ctx) => {
    ctx.touch(job.workspaceId);
    return validatePatchJob(job, ctx.fileJobs);
  },
  'patch.apply': (job, ctx) => {
    ctx.touch(job.workspaceId);
    return applyPatchJob(job, ctx.fileJobs);
  },
} satisfies Partial<JobHandlers>;
