import { evacuate } from '../fleet/evacuate.ts';
import type { JobHandlers } from './table.ts';

export const fleetHandlers = {
  'workspace.evacuate': evacuate,
} satisfies Partial<JobHandlers>;
