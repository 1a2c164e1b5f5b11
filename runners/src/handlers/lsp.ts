import type { JobHandlers } from './table.ts';

export const lspHandlers = {
  'lsp.open': (job, ctx) => ctx.languageServers.open(job),
} satisfies Partial<JobHandlers>;
