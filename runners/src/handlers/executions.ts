import { execStart } from '../executions/exec-start.ts';
import type { JobHandlers } from './table.ts';

export const executionHandlers = {
  'exec.start': execStart,
  'exec.cancel': async (job, ctx) => {
    const found = ctx.execs.get(job.executionId);
    const running = job.workspaceId && found?.workspaceId !== job.workspaceId ? undefined : found;
    if (running) {
      running.cancelled = true;
      await running.handle.kill();
    }
    return { cancelled: Boolean(running) };
  },
} satisfies Partial<JobHandlers>;
