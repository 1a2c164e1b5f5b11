import { log } from '../log.ts';
import type { RunnerContext } from '../runner-context.ts';
import { workspaceStates } from './states.ts';

/** Stops the running workspaces nobody used for KEEL_IDLE_STOP_SECONDS (no command, no terminal), on any driver. */
export async function stopIdle(ctx: RunnerContext): Promise<void> {
  const limit = ctx.config.KEEL_IDLE_STOP_SECONDS * 1000;
  const busy = new Set([...ctx.execs.values()].map((e) => e.workspaceId));
  for (const id of ctx.terminals.workspaces()) busy.add(id);
  const { engine } = await workspaceStates(ctx);
  for (const id of await ctx.ownWorkspaces(engine)) {
    const last = ctx.lastActive.get(id) ?? Date.now();
    if (busy.has(id) || Date.now() - last < limit) continue;
    if (engine.get(id)?.status !== 'running') continue;
    try {
      await (await ctx.driverFor(id)).stop(id);
      await ctx.setStatus(
        id,
        'stopped',
        `stopped after ${ctx.config.KEEL_IDLE_STOP_SECONDS} s without activity`,
      );
    } catch (err) {
      // One workspace (its server out of reach) does not keep the others running.
      log('warn', 'an idle workspace could not be stopped', { workspaceId: id, error: String(err) });
    }
  }
}
