import { deleteJob, mkdirJob, readJob, renameJob, treeJob, writeJob } from '../files/jobs.ts';
import { onFiles } from './on-files.ts';
import type { JobHandlers } from './table.ts';

export const fileHandlers = {
  'files.tree': onFiles(treeJob),
  'files.read': onFiles(readJob),
  'files.write': onFiles(writeJob),
  'files.rename': onFiles(renameJob),
  'files.delete': onFiles(deleteJob),
  'files.mkdir': onFiles(mkdirJob),
} satisfies Partial<JobHandlers>;
