import { OutputStream } from '../output-stream.ts';
import type { RunnerContext } from '../runner-context.ts';
import { foreignDriverReason } from '../workspace-watch.ts';

/** After a restart: publish what each known workspace is doing, and close streams of lost commands. */
export async function reattach(ctx: RunnerContext): Promise<void> {
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
