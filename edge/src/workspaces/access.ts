import { idSchema } from '@keel/contract/ids';
import { runnerKeys } from '@keel/contract/keys';
import { type Workspace, WorkspaceStatus } from '@keel/contract/workspaces';
import { workspaces } from '@keel/drizzle/schema';
import { and, eq, isNull } from 'drizzle-orm';
import type { Context } from 'hono';
import { type AppEnv, type Principal, principalPermits } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { workspaceRowKey } from '../redis-keys.ts';
import type { Services } from '../services.ts';

export type WorkspaceRow = typeof workspaces.$inferSelect;

export interface LiveStatus {
  status: WorkspaceStatus;
  reason: string | null;
  at: string;
}

/** Whether the caller may reach every workspace of their organization, not only their own. */
export function canSeeAll(p: Principal): boolean {
  return principalPermits(p, 'workspaces:admin');
}

/**
 * The workspace, if this caller may touch it: its owner, or a holder of `workspaces:admin` in
 * its organization. What they may do there (read, or also write and run) is the route's access.
 * Anyone else, including other organizations, gets the same 404 as for a missing one.
 */
export async function loadWorkspace(c: Context<AppEnv>, id: string): Promise<WorkspaceRow> {
  return (await loadWorkspaceEntry(c, id)).row;
}

/**
 * `loadWorkspace`, with the row's cache entry as it reads in Redis now, for callers that
 * check later that it did not change since (see ai/warm-start).
 */
export async function loadWorkspaceEntry(
  c: Context<AppEnv>,
  id: string,
): Promise<{ row: WorkspaceRow; entry: string }> {
  if (!idSchema('workspace').safeParse(id).success) throw new ApiError('not_found', 'No such workspace');
  const p = c.get('principal');
  const found = await workspaceRow(c.get('services'), id);
  const row = found?.row;
  if (!row || row.organizationId !== p.organizationId || (row.ownerId !== p.userId && !canSeeAll(p))) {
    throw new ApiError('not_found', 'No such workspace');
  }
  return { row, entry: found.entry };
}

const ROW_CACHE_SECONDS = 300;

/**
 * A live (not deleted) workspace row, read through a Redis cache: every file and command
 * request needs it, and it changes only through the routes that call `forgetWorkspaceRow`.
 */
export async function workspaceRow(
  services: Services,
  id: string,
): Promise<{ row: WorkspaceRow; entry: string } | undefined> {
  const key = workspaceRowKey(services, id);
  const cached = await services.commands.send<string | null>(['GET', key]);
  // Sealed (see cache-seal.ts): a row written straight into Redis is read as a miss.
  const value = await services.cacheSeal.open(key, cached);
  if (value) {
    const r = JSON.parse(value) as Record<string, unknown>;
    const row: WorkspaceRow = {
      ...(r as unknown as WorkspaceRow),
      createdAt: new Date(r.createdAt as string),
      updatedAt: new Date(r.updatedAt as string),
      lastActiveAt: r.lastActiveAt ? new Date(r.lastActiveAt as string) : null,
      deletedAt: null,
    };
    return { row, entry: cached! };
  }
  const [row] = await services.db
    .select()
    .from(workspaces)
    .where(and(eq(workspaces.id, id), isNull(workspaces.deletedAt)))
    .limit(1);
  if (!row) return undefined;
  const entry = await services.cacheSeal.seal(key, JSON.stringify(row));
  await services.commands.send(['SET', key, entry, 'EX', ROW_CACHE_SECONDS]);
  return { row, entry };
}

export async function forgetWorkspaceRow(services: Services, id: string): Promise<void> {
  await services.commands.send(['DEL', workspaceRowKey(services, id)]);
}

export const RUNNER_OFFLINE = 'its runner is offline';

/** Why a workspace's runner cannot serve it although it is online: it runs another driver now. */
export function foreignDriver(
  workspaceDriver: string | null | undefined,
  runnerDriver: unknown,
): string | undefined {
  if (!workspaceDriver || typeof runnerDriver !== 'string' || runnerDriver === workspaceDriver)
    return undefined;
  return `it runs on the ${workspaceDriver} driver and its runner now runs ${runnerDriver}`;
}

/** The driver a heartbeat names, without validating the rest of it (read on every status). */
function heartbeatDriver(raw: string): unknown {
  try {
    return (JSON.parse(raw) as { driver?: unknown }).driver;
  } catch {
    return undefined;
  }
}

type PlacedRow = { id: string; runnerId: string | null; driver?: string | null; serverId?: string | null };

/**
 * Statuses the runners last wrote, read in one round trip with the runners' heartbeats: a
 * workspace whose runner is offline, or runs another driver than the workspace's, is
 * `unavailable` whatever its runner last wrote.
 */
export async function liveStatuses(services: Services, rows: PlacedRow[]): Promise<Map<string, LiveStatus>> {
  const keys = liveStatusKeys(services.config.redisPrefix, rows);
  if (keys.length === 0) return new Map();
  return liveStatusesFrom(rows, await services.commands.send<Array<string | null>>(['MGET', ...keys]));
}

/**
 * What `liveStatuses` reads for `rows`, in order: each placed workspace's status, then each of
 * their runners' heartbeats. For a caller that reads them in a round trip it makes anyway.
 */
export function liveStatusKeys(prefix: string, rows: PlacedRow[]): string[] {
  const placed = rows.filter((r) => r.runnerId);
  const runnerIds = [...new Set(placed.map((r) => r.runnerId!))];
  return [
    ...placed.map((r) => runnerKeys(prefix, r.runnerId!).workspaceStatus(r.id)),
    ...runnerIds.map((id) => runnerKeys(prefix, id).heartbeat),
  ];
}

/** `liveStatuses` from the values read at `liveStatusKeys(…, rows)`. */
export function liveStatusesFrom(
  rows: PlacedRow[],
  values: ReadonlyArray<string | null>,
): Map<string, LiveStatus> {
  const out = new Map<string, LiveStatus>();
  const placed = rows.filter((r) => r.runnerId);
  const runnerIds = [...new Set(placed.map((r) => r.runnerId!))];
  // Each runner's heartbeat parsed once, however many of its workspaces are listed.
  const drivers = new Map(
    runnerIds.map((id, i) => {
      const beat = values[placed.length + i];
      return [id, beat ? { driver: heartbeatDriver(beat) } : null];
    }),
  );
  placed.forEach((r, i) => {
    const v = values[i];
    let live: LiveStatus | undefined;
    if (v) {
      try {
        const parsed = JSON.parse(v) as LiveStatus;
        if (WorkspaceStatus.safeParse(parsed.status).success) live = parsed;
      } catch {
        // Ignore a malformed status; the stored one stands.
      }
    }
    const beat = drivers.get(r.runnerId!);
    // A workspace on a server runs on the server's driver, whatever the runner runs on its own host.
    const unavailable = beat
      ? r.serverId
        ? undefined
        : foreignDriver(r.driver, beat.driver)
      : RUNNER_OFFLINE;
    if (unavailable) {
      out.set(r.id, { status: 'unavailable', reason: unavailable, at: live?.at ?? new Date().toISOString() });
    } else if (live) out.set(r.id, live);
  });
  return out;
}

const OFFLINE_OR_FOREIGN = `local beat = redis.call('GET', KEYS[1])
if not beat then return 'offline' end
local ok, parsed = pcall(cjson.decode, beat)
local driver = ok and type(parsed) == 'table' and parsed.driver or nil
if ARGV[1] ~= '' and type(driver) == 'string' and driver ~= ARGV[1] then return 'driver:' .. driver end
if KEYS[2] then redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3]) end
return 'ok'`;

/**
 * Refuses at once (503 runner_unavailable) work for a workspace whose runner is offline or
 * runs another driver, instead of queueing it for a runner that will not take it. With
 * `thenSet`, that key is written in the same round trip when the runner can serve it.
 */
export async function assertRunnerServes(
  services: Services,
  row: WorkspaceRow,
  thenSet?: { key: string; value: string; ttlSeconds: number },
): Promise<void> {
  if (!row.runnerId)
    throw new ApiError('runner_unavailable', 'This workspace has no runner; create it again');
  const heartbeat = runnerKeys(services.config.redisPrefix, row.runnerId).heartbeat;
  const answer = await services.commands.send<string>([
    'EVAL',
    OFFLINE_OR_FOREIGN,
    thenSet ? 2 : 1,
    ...(thenSet ? [heartbeat, thenSet.key] : [heartbeat]),
    row.serverId ? '' : (row.driver ?? ''),
    thenSet?.value ?? '',
    String(thenSet?.ttlSeconds ?? 0),
  ]);
  if (answer === 'ok') return;
  const reason =
    answer === 'offline'
      ? RUNNER_OFFLINE
      : (foreignDriver(row.driver, answer.slice('driver:'.length)) ?? answer);
  throw new ApiError('runner_unavailable', `The workspace is unavailable: ${reason}`);
}

export function workspaceView(row: WorkspaceRow, live?: LiveStatus): Workspace {
  return {
    id: row.id,
    name: row.name,
    organizationId: row.organizationId,
    ownerId: row.ownerId,
    source: row.source,
    resources: row.resources,
    network: row.network,
    runnerId: row.runnerId,
    driver: (row.driver ?? null) as Workspace['driver'],
    serverId: row.serverId ?? null,
    status: (live?.status ?? row.status) as WorkspaceStatus,
    statusReason: live ? live.reason : row.statusReason,
    generation: row.generation,
    createdAt: row.createdAt.toISOString(),
    updatedAt: (live?.at ? new Date(live.at) : row.updatedAt).toISOString(),
  };
}

export function queueOf(row: WorkspaceRow): string {
  if (!row.runnerId)
    throw new ApiError('runner_unavailable', 'This workspace has no runner; create it again');
  return `runner.${row.runnerId}`;
}
