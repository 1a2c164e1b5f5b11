import { JobError } from '../job-error.ts';
import type { JobHandlers } from './table.ts';

export const fleetHandlers = {
  'workspace.evacuate': () => {
    throw new JobError('internal', 'moves are not built yet');
  },
} satisfies Partial<JobHandlers>;
