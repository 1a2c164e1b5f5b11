import type { JobHandlers } from './table.ts';

export const terminalHandlers = {
  'terminal.open': (job, ctx) => ctx.terminals.open(job),
} satisfies Partial<JobHandlers>;
