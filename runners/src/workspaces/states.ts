import type { RunnerContext } from '../runner-context.ts';
import { within } from '../servers/probes.ts';
import type { WorkloadState } from '../workloads/types.ts';

/** A server that does not answer in this long counts as out of reach for this look. */
const SERVER_STATES_TIMEOUT_MS = 10_000;

export interface WorkspaceStates {
  /** Every workload of this runner's driver, and each server's workloads that are this runner's workspaces. */
  engine: Map<string, WorkloadState>;
  /** Workspaces whose server cannot be reached now, with why: not gone, just out of sight. */
  unreachable: Map<string, string>;
}

/**
 * One look at every driver this runner uses: its own, and each server that holds one of its
 * workspaces (all at once, each bounded, so one slow server holds back nobody).
 */
export async function workspaceStates(ctx: RunnerContext): Promise<WorkspaceStates> {
  const byServer = [...ctx.serverWorkspaces()];
  const [local, ...servers] = await Promise.all([
    ctx.driver.states(),
    ...byServer.map(async ([serverId, ids]) => ({ ids, ...(await serverStates(ctx, serverId)) })),
  ]);
  const engine = new Map<string, WorkloadState>();
  for (const [id, state] of local) if (!ctx.workspaceServer.has(id)) engine.set(id, state);
  const unreachable = new Map<string, string>();
  for (const server of servers) {
    for (const id of server.ids) {
      if (server.error !== undefined) unreachable.set(id, server.error);
      else {
        const state = server.states.get(id);
        if (state) engine.set(id, state);
      }
    }
  }
  return { engine, unreachable };
}

/** One server's workloads, or why it cannot say now (a reason that reads after "unavailable: "). */
export async function serverStates(
  ctx: RunnerContext,
  serverId: string,
): Promise<
  { states: Map<string, WorkloadState>; error?: undefined } | { error: string; states?: undefined }
> {
  try {
    const driver = await ctx.servers.driver(serverId);
    return { states: await within(driver.states(), SERVER_STATES_TIMEOUT_MS, 'listing its workloads') };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { error: /^its server/.test(message) ? message : `its server cannot be reached: ${message}` };
  }
}
