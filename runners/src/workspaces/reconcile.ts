import type { RunnerContext } from '../runner-context.ts';
import { correction, parseStatus, replaceIfUnchanged } from '../workspace-watch.ts';
import { workspaceStates } from './states.ts';

/**
 * One look at every engine for every workspace this runner placed (its own driver's and
 * its servers'): counts the running ones, and publishes `stopped` or `failed` with a reason
 * for one that Keel says runs but whose container stopped or vanished outside Keel, and
 * `unavailable` for one whose server is out of reach (never `failed`: it is intact there).
 * Returns how many run.
 */
export async function reconcile(ctx: RunnerContext): Promise<number> {
  const ids = await ctx.redis.smembers(ctx.keys.workspaces);
  if (ids.length === 0) return 0;
  // Read before the engines are looked at: a status published while they are listed (a create or
  // start that just finished) is newer than the look and must not be judged by it; it no longer
  // matches what was read here, so replaceIfUnchanged leaves it.
  const published = await ctx.redis.mget(...ids.map((id) => ctx.keys.workspaceStatus(id)));
  const [{ engine, unreachable }, drivers] = await Promise.all([
    workspaceStates(ctx),
    ctx.workspaceDrivers(),
  ]);
  let running = 0;
  for (const [i, id] of ids.entries()) {
    if (engine.get(id)?.status === 'running') running++;
    const raw = published[i];
    if (!raw || ctx.lifecycle.has(id)) continue;
    const fix = correction(parseStatus(raw), engine.get(id), {
      workspace: drivers.get(id),
      runner: ctx.driver.kind,
      onServer: ctx.workspaceServer.has(id),
      unreachable: unreachable.get(id),
    });
    if (!fix) continue;
    const next = JSON.stringify({ status: fix.status, reason: fix.reason, at: new Date().toISOString() });
    if (await replaceIfUnchanged(ctx.redis, ctx.keys.workspaceStatus(id), raw, next)) {
      await ctx.workspaceLog(
        id,
        'system',
        fix.reason ? `${fix.status}: ${fix.reason}` : `${fix.status} again`,
      );
    }
  }
  return running;
}
