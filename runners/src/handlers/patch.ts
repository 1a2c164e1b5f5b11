import { applyPatchJob, validatePatchJob } from '../patch/jobs.ts';
import { onFiles } from './on-files.ts';
import type { JobHandlers } from './table.ts';

export const patchHandlers = {
  'patch.validate': onFiles(validatePatchJob),
  'patch.apply': onFiles(applyPatchJob),
} satisfies Partial<JobHandlers>;
