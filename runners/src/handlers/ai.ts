import type { JobHandlers } from './table.ts';

export const aiHandlers = {
  'ai.explain': (job, ctx) => ctx.ai.start(job),
  'ai.rewrite': (job, ctx) => ctx.ai.start(job),
  'ai.chat': (job, ctx) => ctx.ai.start(job),
  'ai.cancel': (job, ctx) => ctx.ai.cancel(job.streamId),
} satisfies Partial<JobHandlers>;
