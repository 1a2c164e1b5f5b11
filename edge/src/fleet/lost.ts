/**
 * Runners whose heartbeat is gone: each check-in's sweep notes when every runner was last
 * seen, declares lost a runner gone past the deadline that still holds workspaces, and moves
 * those workspaces elsewhere (see relocate.ts).
 */
import { runnerKeys } from '@keel/contract/keys';
import { runners, workspaces } from '@keel/drizzle/schema';
import { and, asc, inArray, isNull } from 'drizzle-orm';
import { appendAudit } from '../audit/audit-log.ts';
import type { Services } from '../services.ts';
import {
  decideByPolicy,
  moveWorkspace,
  type RunnerRow,
  relocationSource,
  type WorkspaceRow,
  wasRunning,
} from './relocate.ts';

/** `last_seen_at` is written only when older than this: check-ins come every few seconds. */
const LAST_SEEN_RESOLUTION_MS = 2_000;

/** Heartbeats of these runners, present or not, in one round trip. */
async function heartbeatPresence(services: Services, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const prefix = services.config.redisPrefix;
  const raw = await services.redis().mget(...ids.map((id) => runnerKeys(prefix, id).heartbeat));
  return new Set(ids.filter((_, i) => raw[i] != null));
}

/**
 * Notes who is seen, clears `lost_at` of those back, and declares lost those gone past the
 * deadline that hold workspaces on their own host. Returns the runners lost now (old and new).
 */
export async function markLostRunners(services: Services, lostAfterSeconds: number): Promise<RunnerRow[]> {
  const rows = await services.db.select().from(runners).where(isNull(runners.revokedAt)).limit(10_000);
  const present = await heartbeatPresence(
    services,
    rows.map((r) => r.id),
  );
  const now = services.clock.now();
  const seenStale = rows.filter(
    (r) =>
      present.has(r.id) &&
      (r.lostAt || !r.lastSeenAt || now.getTime() - r.lastSeenAt.getTime() > LAST_SEEN_RESOLUTION_MS),
  );
  if (seenStale.length > 0) {
    await services.db
      .update(runners)
      .set({ lastSeenAt: now, lostAt: null })
      .where(
        inArray(
          runners.id,
          seenStale.map((r) => r.id),
        ),
      );
    for (const r of seenStale.filter((x) => x.lostAt)) {
      // Back: its stale copies go at its next placement check (the runner asks).
      await appendAudit(services, {
        action: 'runner.returned',
        outcome: 'success',
        organizationId: r.organizationId,
        targetId: r.id,
        metadata: { lostForSeconds: Math.round((now.getTime() - r.lostAt!.getTime()) / 1000) },
      });
    }
  }
  const deadline = now.getTime() - lostAfterSeconds * 1000;
  const gone = rows.filter(
    (r) => !present.has(r.id) && !r.lostAt && (r.lastSeenAt ?? r.createdAt).getTime() < deadline,
  );
  const lost = rows.filter((r) => !present.has(r.id) && r.lostAt);
  if (gone.length > 0) {
    const holding = await services.db
      .selectDistinct({ runnerId: workspaces.runnerId })
      .from(workspaces)
      .where(
        and(
          inArray(
            workspaces.runnerId,
            gone.map((r) => r.id),
          ),
          isNull(workspaces.serverId),
          isNull(workspaces.deletedAt),
        ),
      );
    const holders = new Set(holding.map((h) => h.runnerId));
    const newlyLost = gone.filter((r) => holders.has(r.id));
    if (newlyLost.length > 0) {
      await services.db
        .update(runners)
        .set({ lostAt: now })
        .where(
          and(
            inArray(
              runners.id,
              newlyLost.map((r) => r.id),
            ),
            isNull(runners.lostAt),
          ),
        );
      for (const r of newlyLost) {
        console.warn(`keel-edge: runner ${r.id} (${r.name}) lost: no heartbeat for ${lostAfterSeconds} s`);
        await appendAudit(services, {
          action: 'runner.lost',
          outcome: 'failure',
          organizationId: r.organizationId,
          targetId: r.id,
          metadata: {
            lostAfterSeconds,
            lastSeenAt: (r.lastSeenAt ?? r.createdAt).toISOString(),
          },
        });
        lost.push({ ...r, lostAt: now });
      }
    }
  }
  return lost;
}

/**
 * Moves up to `limit` workspaces off lost runners. Only those on a runner's own host: a
 * workspace on an infrastructure server keeps its data on that server, which did not fail with
 * the runner, so it stays (unavailable until a runner that serves the server is back).
 */
export async function relocateFromLost(
  services: Services,
  lost: RunnerRow[],
  limit: number,
): Promise<number> {
  if (lost.length === 0 || limit <= 0) return 0;
  const byId = new Map(lost.map((r) => [r.id, r]));
  const rows = await services.db
    .select()
    .from(workspaces)
    .where(
      and(
        inArray(workspaces.runnerId, [...byId.keys()]),
        isNull(workspaces.serverId),
        isNull(workspaces.deletedAt),
      ),
    )
    .orderBy(asc(workspaces.updatedAt))
    .limit(limit);
  let moved = 0;
  for (const row of rows) {
    try {
      if (await relocateOne(services, row, byId.get(row.runnerId!)!)) moved++;
    } catch (err) {
      console.error(`keel-edge: relocating ${row.id} off lost runner ${row.runnerId} failed:`, err);
    }
  }
  return moved;
}

/** One workspace of a lost runner, placed again by the policy (never back on the lost one). */
export async function relocateOne(services: Services, row: WorkspaceRow, from: RunnerRow): Promise<boolean> {
  const start = await wasRunning(services, row);
  const { source, snapshot } = await relocationSource(services, row);
  const { destination, summary } = await decideByPolicy(services, row, 'relocation', [from.id]);
  const outcome = await moveWorkspace(services, row, destination, {
    reason: 'lost',
    why: `from runner ${from.name} (${from.id}): its host was lost`,
    summary,
    start,
    source,
    snapshot,
  });
  if (outcome && !snapshot) {
    console.warn(
      `keel-edge: workspace ${row.id} moved off lost runner ${from.id} with no snapshot: its files were lost`,
    );
  }
  return outcome !== undefined;
}
