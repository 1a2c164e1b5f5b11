/**
 * Removing this runner's copy of a workspace that is no longer its own (it moved away, or the
 * edge says it is stale): the workload and its files, its records and output in Redis, and what
 * the runner remembers of it, as a delete does, but with nothing reported to the edge: the
 * workspace lives on elsewhere, and its status there is not this runner's to write.
 */
import { log } from '../log.ts';
import type { RunnerContext } from '../runner-context.ts';
import { forgetOutput } from '../workspaces/output-deletion.ts';

export async function removeLocalCopy(ctx: RunnerContext, workspaceId: string, why: string): Promise<void> {
  await ctx.terminals.endWorkspace(workspaceId);
  ctx.roots.delete(workspaceId);
  const driver = await ctx.driverFor(workspaceId);
  await driver.remove(workspaceId, { keepData: false });
  await forgetOutput(ctx, workspaceId);
  await ctx.redis
    .multi()
    .srem(ctx.keys.workspaces, workspaceId)
    .hdel(ctx.keys.workspaceDrivers, workspaceId)
    .hdel(ctx.keys.workspaceServers, workspaceId)
    .exec();
  await ctx.generations.forget(workspaceId, true);
  ctx.foreign.delete(workspaceId);
  ctx.workspaceServer.delete(workspaceId);
  ctx.lastActive.delete(workspaceId);
  log('info', `removed this runner's copy of a workspace: ${why}`, { workspaceId });
}
