import { bounded } from '../bounded.ts';
import type { RunnerContext } from '../runner-context.ts';

/**
 * What a deleted workspace leaves in Redis goes with it: its status, its logs, its files
 * version, and the output of every command it ran (which may hold anything the commands
 * printed), rather than lingering until the streams expire. Commands still ending (the
 * driver just killed them) write their exit first, so no stream comes back after this.
 */
export async function forgetOutput(ctx: RunnerContext, workspaceId: string): Promise<void> {
  const ending = [...ctx.execs.values()].filter((e) => e.workspaceId === workspaceId);
  await bounded(Promise.all(ending.map((e) => e.finished)), 5_000);
  const listed = ctx.keys.workspaceExecs(workspaceId);
  const executions = await ctx.redis.zrange(listed, 0, -1);
  const keys = [
    ctx.keys.workspaceStatus(workspaceId),
    ctx.keys.workspaceLogs(workspaceId),
    ctx.keys.workspaceFilesVersion(workspaceId),
    listed,
    ...executions.flatMap((e) => [ctx.keys.execStream(e), ctx.keys.execMeta(e), ctx.keys.execClaimed(e)]),
  ];
  for (let i = 0; i < keys.length; i += 500) await ctx.redis.del(...keys.slice(i, i + 500));
}
