import type { RunnerContext } from '../runner-context.ts';

/** Stops the running workspaces nobody used for KEEL_IDLE_STOP_SECONDS (no command, no terminal). */
export async function stopIdle(ctx: RunnerContext): Promise<void> {
  const limit = ctx.config.KEEL_IDLE_STOP_SECONDS * 1000;
  const busy = new Set([...ctx.execs.values()].map((e) => e.workspaceId));
  for (const id of ctx.terminals.workspaces()) busy.add(id);
  const engine = await ctx.driver.states();
  for (const id of await ctx.ownWorkspaces(engine)) {
    const last = ctx.lastActive.get(id) ?? Date.now();
    if (busy.has(id) || Date.now() - last < limit) continue;
    if (engine.get(id)?.status !== 'running') continue;
    await ctx.driver.stop(id);
    await ctx.setStatus(
      id,
      'stopped',
      `stopped after ${ctx.config.KEEL_IDLE_STOP_SECONDS} s without activity`,
    );
  }
}
