import { OutputStream } from '../output-stream.ts';
import type { RunnerContext } from '../runner-context.ts';
import { foreignDriverReason } from '../workspace-watch.ts';
import { serverStates } from './states.ts';

/** After a restart: publish what each known workspace is doing, and close streams of lost commands. */
export async function reattach(ctx: RunnerContext): Promise<void> {
  // Which workspaces live on servers first: the local engine's list leaves those out.
  await ctx.loadWorkspaceServers();
  const own = await ctx.ownWorkspaces();
  // Workspaces placed before the runner kept its own list join it here.
  if (own.length) await ctx.redis.sadd(ctx.keys.workspaces, ...own);
  // Those placed before drivers were recorded are in this driver's engine: they are its own.
  const recorded = await ctx.workspaceDrivers();
  const unrecorded = own.filter((id) => !recorded.has(id));
  if (unrecorded.length) {
    await ctx.redis.hset(
      ctx.keys.workspaceDrivers,
      Object.fromEntries(unrecorded.map((id) => [id, ctx.driver.kind])),
    );
  }
  for (const [id, driver] of ctx.foreign) {
    await ctx.setStatus(id, 'unavailable', foreignDriverReason(driver, ctx.driver.kind));
  }
  for (const id of own) {
    const status = await ctx.driver.status(id);
    if (status !== 'missing') {
      await ctx.setStatus(id, status === 'running' ? 'running' : 'stopped', null, false);
    }
    // A restart is not idleness: the idle clock starts again from now.
    ctx.touch(id);
  }
  await reattachServerWorkspaces(ctx);
  const orphaned = await ctx.redis.smembers(ctx.keys.execsRunning);
  for (const executionId of orphaned) {
    await new OutputStream(ctx.redis, ctx.keys.execStream(executionId)).end({
      exitCode: null,
      error: 'the runner restarted while this command ran',
    });
  }
  if (orphaned.length) await ctx.redis.del(ctx.keys.execsRunning);
  await ctx.ai.closeOrphans();
  await ctx.terminals.endOrphans();
}

/**
 * Workspaces on servers: each server's driver is opened again from a fresh access, and its
 * workspaces read what that engine says; those of a server out of reach read `unavailable`
 * (the heartbeat brings them back once it answers).
 */
async function reattachServerWorkspaces(ctx: RunnerContext): Promise<void> {
  for (const [serverId, ids] of ctx.serverWorkspaces()) {
    const { states, error } = await serverStates(ctx, serverId);
    if (error !== undefined) {
      for (const id of ids) await ctx.setStatus(id, 'unavailable', error);
      continue;
    }
    for (const id of ids) {
      const state = states.get(id);
      if (state) await ctx.setStatus(id, state.status, null, false);
      ctx.touch(id);
    }
  }
}
