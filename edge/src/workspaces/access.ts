import { roleRank } from '@keel/contract/auth';
import { idSchema } from '@keel/contract/ids';
import { runnerKeys } from '@keel/contract/keys';
import { type Workspace, WorkspaceStatus } from '@keel/contract/workspaces';
import { workspaces } from '@keel/drizzle/schema';
import { and, eq, isNull } from 'drizzle-orm';
import type { Context } from 'hono';
import type { AppEnv, Principal } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import type { Services } from '../services/services.ts';

export type WorkspaceRow = typeof workspaces.$inferSelect;

export interface LiveStatus {
  status: WorkspaceStatus;
  reason: string | null;
  at: string;
}

export function canSeeAll(p: Principal): boolean {
  return roleRank[p.role] >= roleRank.admin;
}

/**
 * The workspace, if this caller may touch it: its owner, or an admin of its organization.
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
export const rowKey = (services: Services, id: string) => `${services.config.redisPrefix}wsrow:${id}`;

/**
 * A live (not deleted) workspace row, read through a Redis cache: every file and command
 * request needs it, and it changes only through the routes that call `forgetWorkspaceRow`.
 */
async function workspaceRow(
  services: Services,
  id: string,
): Promise<{ row: WorkspaceRow; entry: string } | undefined> {
  const key = rowKey(services, id);
  const cached = await services.redis().get(key);
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
  await services.redis().set(key, entry, 'EX', ROW_CACHE_SECONDS);
  return { row, entry };
}

export async function forgetWorkspaceRow(services: Services, id: string): Promise<void> {
  await services.redis().del(rowKey(services, id));
}

/** Statuses the runners last wrote, read in one round trip. */
export async function liveStatuses(
  services: Services,
  rows: Array<{ id: string; runnerId: string | null }>,
): Promise<Map<string, LiveStatus>> {
  const out = new Map<string, LiveStatus>();
  const placed = rows.filter((r) => r.runnerId);
  if (placed.length === 0) return out;
  const prefix = services.config.redisPrefix;
  const values = await services
    .redis()
    .mget(...placed.map((r) => runnerKeys(prefix, r.runnerId!).workspaceStatus(r.id)));
  values.forEach((v, i) => {
    if (!v) return;
    try {
      const parsed = JSON.parse(v) as LiveStatus;
      if (WorkspaceStatus.safeParse(parsed.status).success) out.set(placed[i]!.id, parsed);
    } catch {
      // Ignore a malformed status; the stored one stands.
    }
  });
  return out;
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
    status: (live?.status ?? row.status) as WorkspaceStatus,
    statusReason: live ? live.reason : row.statusReason,
    createdAt: row.createdAt.toISOString(),
    updatedAt: (live?.at ? new Date(live.at) : row.updatedAt).toISOString(),
  };
}

export function queueOf(row: WorkspaceRow): string {
  if (!row.runnerId)
    throw new ApiError('runner_unavailable', 'This workspace has no runner; create it again');
  return `runner.${row.runnerId}`;
}
