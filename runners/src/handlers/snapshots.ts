import { JobError } from '../job-error.ts';
import type { JobHandlers } from './table.ts';

const notYet = () => {
  throw new JobError('internal', 'snapshots are not built yet');
};

export const snapshotHandlers = {
  'workspace.snapshot': notYet,
  'workspace.restore': notYet,
  'snapshots.prune': notYet,
} satisfies Partial<JobHandlers>;
