import { deleteJob, mkdirJob, readJob, renameJob, treeJob, writeJob } from '../files/jobs.ts';
import type { JobHandlers } from './table.ts';

export const fileHandlers = {
  'files.tree': (job, ctx) => {
    ctx.touch(job.workspaceId);
    return treeJob(job, ctx.fileJobs);
  },
  'files.read': (job, ctx) => {
    ctx.touch(job.workspaceId);
    return readJob(job, ctx.fileJobs);
  },
  'files.write': (job, ctx) => {
    ctx.touch(job.workspaceId);
    return writeJob(job, ctx.fileJobs);
  },
  'files.rename': (job, ctx) => {
    ctx.touch(job.workspaceId);
    return renameJob(job, ctx.fileJobs);
  },
  'files.delete': (job, ctx) => {
    ctx.touch(job.workspaceId);
    return deleteJob(job, ctx.fileJobs);
  },
  'files.mkdir': (job, ctx) => {
    ctx.touch(job.workspaceId);
    return mkdirJob(job, ctx.fileJobs);
  },
} satisfies Partial<JobHandlers>;
