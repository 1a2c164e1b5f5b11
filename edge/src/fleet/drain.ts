/**
 * Drains: a draining runner or server takes no new workspaces, and the sweep moves its
 * workspaces away a few at a time (DRAIN_CONCURRENCY), each through a move and its runner's
 * evacuation. Progress is read from the workspaces themselves, and failed moves from a set the
 * handoff fills.
 */
import { DRAIN_CONCURRENCY, type DrainProgress } from '@keel/contract/fleet';
import { runners, servers, workspaces } from '@keel/drizzle/schema';
import { and, asc, count, eq, isNotNull, isNull, or, type SQL } from 'drizzle-orm';
import type { Services } from '../services.ts';
import { drainFailedKey, moveBackoffKey } from './keys.ts';
import { requestMove } from './moves.ts';
import { currentStatus } from './relocate.ts';

export type DrainKind = 'runner' | 'server';

/** The workspaces a drain moves: a runner's own-host ones, or a server's. */
function onIt(kind: DrainKind, id: string): SQL {
  return kind === 'server'
    ? and(eq(workspaces.serverId, id), isNull(workspaces.deletedAt))!
    : and(eq(workspaces.runnerId, id), isNull(workspaces.serverId), isNull(workspaces.deletedAt))!;
}

export async function drainProgress(
  services: Services,
  kind: DrainKind,
  id: string,
  drainingAt: Date | null,
): Promise<DrainProgress> {
  const [[remaining], [moving], failed] = await Promise.all([
    services.db.select({ n: count() }).from(workspaces).where(onIt(kind, id)),
    services.db
      .select({ n: count() })
      .from(workspaces)
      .where(and(onIt(kind, id), or(isNotNull(workspaces.move), eq(workspaces.status, 'relocating')))),
    services.redis().scard(drainFailedKey(services, kind, id)),
  ]);
  return {
    draining: drainingAt !== null,
    since: drainingAt?.toISOString() ?? null,
    remaining: Number(remaining?.n ?? 0),
    moving: Number(moving?.n ?? 0),
    failed,
  };
}

/** Progress of each of these (draining ones only), for list views. */
export async function drainProgresses(
  services: Services,
  kind: DrainKind,
  rows: Array<{ id: string; drainingAt: Date | null }>,
): Promise<Map<string, DrainProgress>> {
  const out = new Map<string, DrainProgress>();
  for (const r of rows.filter((x) => x.drainingAt)) {
    out.set(r.id, await drainProgress(services, kind, r.id, r.drainingAt));
  }
  return out;
}

/**
 * Turns a drain on (from now, failures counted afresh) or off. Moves under way go on; no new
 * ones start once it is off. Returns the time it drains since, or null.
 */
export async function setDrain(
  services: Services,
  kind: DrainKind,
  id: string,
  drain: boolean,
  current: Date | null,
): Promise<Date | null> {
  const table = kind === 'server' ? servers : runners;
  if (drain && current) return current;
  const at = drain ? services.clock.now() : null;
  await services.db.update(table).set({ drainingAt: at }).where(eq(table.id, id));
  if (drain) await services.redis().del(drainFailedKey(services, kind, id));
  return at;
}

/**
 * Keeps up to DRAIN_CONCURRENCY moves in flight per draining runner or server. A workspace
 * that is neither running nor stopped (starting, stopping, already moving) waits for a later
 * sweep; one whose move just failed waits out its back-off. Returns the moves started.
 */
export async function kickDrains(services: Services, limit: number): Promise<number> {
  const [drainingRunners, drainingServers] = await Promise.all([
    services.db
      .select({ id: runners.id })
      .from(runners)
      .where(and(isNotNull(runners.drainingAt), isNull(runners.revokedAt), isNull(runners.lostAt)))
      .limit(100),
    services.db.select({ id: servers.id }).from(servers).where(isNotNull(servers.drainingAt)).limit(100),
  ]);
  const targets: Array<[DrainKind, string]> = [
    ...drainingRunners.map((r) => ['runner', r.id] as [DrainKind, string]),
    ...drainingServers.map((s) => ['server', s.id] as [DrainKind, string]),
  ];
  let started = 0;
  for (const [kind, id] of targets) {
    if (started >= limit) break;
    try {
      started += await kickOne(services, kind, id, limit - started);
    } catch (err) {
      console.error(`keel-edge: draining ${kind} ${id}:`, err);
    }
  }
  return started;
}

async function kickOne(services: Services, kind: DrainKind, id: string, limit: number): Promise<number> {
  const rows = await services.db
    .select()
    .from(workspaces)
    .where(onIt(kind, id))
    .orderBy(asc(workspaces.createdAt))
    .limit(200);
  const inFlight = rows.filter((r) => r.move).length;
  let room = Math.min(limit, DRAIN_CONCURRENCY - inFlight);
  if (room <= 0) return 0;
  const idle = rows.filter((r) => !r.move && r.runnerId);
  if (idle.length === 0) return 0;
  const backoff = await services.redis().mget(...idle.map((r) => moveBackoffKey(services, r.id)));
  let started = 0;
  for (const [i, row] of idle.entries()) {
    if (room <= 0) break;
    if (backoff[i]) continue;
    const status = await currentStatus(services, row);
    if (status !== 'running' && status !== 'stopped') continue;
    if (await requestMove(services, row, { reason: 'drain', target: { policy: true }, requestedBy: null })) {
      started++;
      room--;
    }
  }
  return started;
}
