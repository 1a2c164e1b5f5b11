import type { DrainProgress } from '@keel/contract/fleet';
import { runnerKeys } from '@keel/contract/keys';
import {
  type DriverKind,
  type RunnerHeartbeat,
  RunnerHeartbeat as RunnerHeartbeatSchema,
  type RunnerView,
} from '@keel/contract/runners';
import { runners } from '@keel/drizzle/schema';
import { and, eq, isNull, or } from 'drizzle-orm';
import type { Services } from '../services.ts';

type RunnerRow = typeof runners.$inferSelect;

/** Latest heartbeats of the given runners, read in one round trip; missing means offline. */
export async function heartbeatsOf(services: Services, ids: string[]): Promise<Map<string, RunnerHeartbeat>> {
  const out = new Map<string, RunnerHeartbeat>();
  if (ids.length === 0) return out;
  const prefix = services.config.redisPrefix;
  const raw = await services.redis().mget(...ids.map((id) => runnerKeys(prefix, id).heartbeat));
  raw.forEach((value, i) => {
    if (!value) return;
    try {
      const parsed = RunnerHeartbeatSchema.safeParse(JSON.parse(value));
      if (parsed.success) out.set(ids[i]!, parsed.data);
    } catch {
      // A malformed heartbeat counts as none.
    }
  });
  return out;
}

/**
 * How a runner looks in a list. `withStats: false` (an organization's admin looking at a
 * shared runner) keeps only that it exists and whether it is online: its host's load,
 * memory, disk and GPUs are the install's business.
 */
export function runnerView(
  row: RunnerRow,
  heartbeat: RunnerHeartbeat | undefined,
  withStats = true,
  drain?: DrainProgress,
): RunnerView {
  return {
    id: row.id,
    name: row.name,
    labels: row.labels,
    // What it runs now, as its heartbeat says; the registered list while it is offline.
    drivers: heartbeat ? [heartbeat.driver] : (row.drivers as RunnerView['drivers']),
    capacity: row.capacity,
    status: row.revokedAt ? 'revoked' : heartbeat ? 'online' : 'offline',
    shared: row.organizationId === null,
    stats: withStats ? (heartbeat ?? null) : null,
    createdAt: row.createdAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    // Back online clears it at the next sweep; until then a heartbeat says it is back.
    lost: row.lostAt !== null && !heartbeat,
    ...(drain ? { drain } : {}),
  };
}

/**
 * Picks the runner for a new workspace, and the driver it runs (the workspace keeps it):
 * among the online, unrevoked runners of the organization and the shared ones, the one with
 * the most free slots for its capacity.
 */
export async function placeWorkspace(
  services: Services,
  organizationId: string,
): Promise<{ runner: RunnerRow; driver: DriverKind } | undefined> {
  const rows = await services.db
    .select()
    .from(runners)
    .where(
      and(
        or(eq(runners.organizationId, organizationId), isNull(runners.organizationId)),
        isNull(runners.revokedAt),
        // Draining and lost runners take no new workspaces.
        isNull(runners.drainingAt),
        isNull(runners.lostAt),
      ),
    );
  const beats = await heartbeatsOf(
    services,
    rows.map((r) => r.id),
  );
  let best: { runner: RunnerRow; driver: DriverKind; load: number } | undefined;
  for (const row of rows) {
    const beat = beats.get(row.id);
    if (!beat) continue;
    const load = beat.workspacesRunning / Math.max(1, row.capacity.workspaces);
    if (load >= 1) continue;
    if (!best || load < best.load) best = { runner: row, driver: beat.driver, load };
  }
  return best && { runner: best.runner, driver: best.driver };
}
