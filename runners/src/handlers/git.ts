import { gitRunJob } from '../git/ops.ts';
import type { JobHandlers } from './table.ts';

export const gitHandlers = {
  'git.run': gitRunJob,
} satisfies Partial<JobHandlers>;
