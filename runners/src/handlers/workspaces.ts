import { snapshotBeforeStop } from '../snapshots/index.ts';
import type { StartOptions } from '../workloads/types.ts';
import { createWorkspace } from '../workspaces/create.ts';
import { forgetOutput } from '../workspaces/output-deletion.ts';
import type { JobHandlers } from './table.ts';

// Each job finds the workspace's driver before it changes the status: a server out of reach
// is a refusal that leaves the workspace as it was, never a half-done `stopping`.
export const workspaceHandlers = {
  'workspace.create': createWorkspace,
  'workspace.start': async (job, ctx) => {
    ctx.touch(job.workspaceId);
    const driver = await ctx.driverFor(job.workspaceId);
    await ctx.setStatus(job.workspaceId, 'starting', null);
    await ctx.guarded(job.workspaceId, () => driver.start(job.workspaceId, startOptions(job)));
    await ctx.setStatus(job.workspaceId, 'running', null);
    return {};
  },
  'workspace.stop': async (job, ctx) => {
    const driver = await ctx.driverFor(job.workspaceId);
    await ctx.setStatus(job.workspaceId, 'stopping', job.snapshotId ? 'saving a snapshot' : null);
    await ctx.terminals.endWorkspace(job.workspaceId);
    await ctx.languageServers.endWorkspace(job.workspaceId);
    // Saved before stopping: the files are read inside the running workspace.
    const saved = job.snapshotId
      ? await snapshotBeforeStop(ctx, job.workspaceId, job.snapshotId, job.generation ?? 1)
      : {};
    await ctx.guarded(job.workspaceId, () => driver.stop(job.workspaceId));
    await ctx.setStatus(job.workspaceId, 'stopped', null);
    return saved;
  },
  'workspace.restart': async (job, ctx) => {
    ctx.touch(job.workspaceId);
    const driver = await ctx.driverFor(job.workspaceId);
    await ctx.setStatus(job.workspaceId, 'starting', 'restarting');
    await ctx.terminals.endWorkspace(job.workspaceId);
    await ctx.languageServers.endWorkspace(job.workspaceId);
    await ctx.guarded(job.workspaceId, async () => {
      await driver.stop(job.workspaceId);
      await driver.start(job.workspaceId, startOptions(job));
    });
    await ctx.setStatus(job.workspaceId, 'running', null);
    return {};
  },
  'workspace.delete': async (job, ctx) => {
    const driver = await ctx.driverFor(job.workspaceId);
    await ctx.setStatus(job.workspaceId, 'deleting', null);
    await ctx.terminals.endWorkspace(job.workspaceId);
    await ctx.languageServers.endWorkspace(job.workspaceId);
    ctx.roots.delete(job.workspaceId);
    await driver.remove(job.workspaceId, { keepData: false });
    await forgetOutput(ctx, job.workspaceId);
    await ctx.redis
      .multi()
      .srem(ctx.keys.workspaces, job.workspaceId)
      .hdel(ctx.keys.workspaceDrivers, job.workspaceId)
      .hdel(ctx.keys.workspaceServers, job.workspaceId)
      .exec();
    ctx.foreign.delete(job.workspaceId);
    ctx.workspaceServer.delete(job.workspaceId);
    ctx.lastActive.delete(job.workspaceId);
    return {};
  },
} satisfies Partial<JobHandlers>;

/** What a start job says of the workspace's network as the install has it now. */
function startOptions(job: { egressAllow?: string[] | undefined }): StartOptions {
  return job.egressAllow ? { egressAllow: job.egressAllow } : {};
}
