import { log } from '../log.ts';
import type { RunnerContext } from '../runner-context.ts';
import { beginSnapshot } from '../snapshots/edge-calls.ts';
import { snapshotBeforeStop } from '../snapshots/index.ts';
import { storeFor } from '../snapshots/store-access.ts';
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
      await ctx.busyWith(id, () => saveIfAsked(ctx, id));
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

/**
 * The idle stop saves a snapshot first when the install asks stops to (the store's `onStop`):
 * the edge is asked for a snapshot id (fenced by the generation this runner holds), then the
 * snapshot is taken and reported. A failure to save is logged and does not keep it running.
 */
async function saveIfAsked(ctx: RunnerContext, id: string): Promise<void> {
  let snapshotId: string;
  let generation: number;
  try {
    if (!(await storeFor(ctx)).onStop) return;
    const held = Number(await ctx.redis.hget(ctx.keys.workspaceGenerations, id));
    generation = Number.isInteger(held) && held >= 1 ? held : 1;
    ({ snapshotId } = await beginSnapshot(ctx.edge, { workspaceId: id, generation, reason: 'stop' }));
  } catch (err) {
    log('warn', 'no snapshot could be begun before an idle stop', { workspaceId: id, error: String(err) });
    return;
  }
  await snapshotBeforeStop(ctx, id, snapshotId, generation);
}
