import { JobError } from '../job-error.ts';
import type { JobHandlers } from './table.ts';

/** Jobs about the infrastructure servers assigned to this runner. */
export const serverHandlers: Pick<JobHandlers, 'server.test'> = {
  'server.test': () => {
    throw new JobError('unavailable', 'This runner cannot test servers yet');
  },
};
