import type { StartOptions } from '../workloads/types.ts';
import { createWorkspace } from '../workspaces/create.ts';
import { forgetOutput } from '../workspaces/output-deletion.ts';
import type { JobHandlers } from './table.ts';

export const workspaceHandlers = {
  'workspace.create': createWorkspace,
  'workspace.start': async (job, ctx) => {
    ctx.touch(job.workspaceId);
    await ctx.setStatus(job.workspaceId, 'starting', null);
    await ctx.guarded(job.workspaceId, () => ctx.driver.start(job.workspaceId, startOptions(job)));
    await ctx.setStatus(job.workspaceId, 'running', null);
    return {};
  },
  'workspace.stop': async (job, ctx) => {
    await ctx.setStatus(job.workspaceId, 'stopping', null);
    await ctx.terminals.endWorkspace(job.workspaceId);
    await ctx.guarded(job.workspaceId, () => ctx.driver.stop(job.workspaceId));
    await ctx.setStatus(job.workspaceId, 'stopped', null);
    return {};
  },
  'workspace.restart': async (job, ctx) => {
    ctx.touch(job.workspaceId);
    await ctx.setStatus(job.workspaceId, 'starting', 'restarting');
    await ctx.terminals.endWorkspace(job.workspaceId);
    await ctx.guarded(job.workspaceId, async () => {
      await ctx.driver.stop(job.workspaceId);
      await ctx.driver.start(job.workspaceId, startOptions(job));
    });
    await ctx.setStatus(job.workspaceId, 'running', null);
    return {};
  },
  'workspace.delete': async (job, ctx) => {
    await ctx.setStatus(job.workspaceId, 'deleting', null);
    await ctx.terminals.endWorkspace(job.workspaceId);
    ctx.roots.delete(job.workspaceId);
    await ctx.driver.remove(job.workspaceId, { keepData: false });
    await forgetOutput(ctx, job.workspaceId);
    await ctx.redis.srem(ctx.keys.workspaces, job.workspaceId);
    await ctx.redis.hdel(ctx.keys.workspaceDrivers, job.workspaceId);
    ctx.foreign.delete(job.workspaceId);
    ctx.lastActive.delete(job.workspaceId);
    return {};
  },
} satisfies Partial<JobHandlers>;

/** What a start job says of the workspace's network as the install has it now. */
function startOptions(job: { egressAllow?: string[] | undefined }): StartOptions {
  return job.egressAllow ? { egressAllow: job.egressAllow } : {};
}
