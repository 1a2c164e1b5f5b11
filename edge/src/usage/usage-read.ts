import type { ResourceTotals, UsageBucket, UsageGranularity, WorkspaceUsage } from '@keel/contract/usage';
import {
  type UsageRollupTable,
  usageDaily,
  usageHourly,
  userIdentities,
  users,
  workspaces,
} from '@keel/drizzle/schema';
import { and, desc, eq, gte, lt, type SQL, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { csvCell } from '../audit/audit-query.ts';
import { ApiError } from '../http/api-error.ts';
import type { Database } from '../services/database.ts';
import { dayStart, hourStart } from './rollup-write.ts';

const DAY_MS = 24 * 3600_000;
const DEFAULT_WINDOW_MS = 30 * DAY_MS;
/** Hourly rows over more than a month would be a page no chart needs; days go back a year. */
const MAX_WINDOW_MS: Record<UsageGranularity, number> = { hour: 31 * DAY_MS, day: 366 * DAY_MS };
/** The heaviest first; the console pages nothing, so the lists are bounded. */
export const MAX_USAGE_USERS = 1_000;
export const MAX_USAGE_WORKSPACES = 200;
/** A CSV download stops here (X-Row-Limit says so) rather than grow without bound. */
export const MAX_USAGE_CSV_ROWS = 100_000;
const GIB_HOUR = 1024 ** 3 * 3600;

export interface UsageWindow {
  since: Date;
  until: Date;
  granularity: UsageGranularity;
}

/** The window a query asks for (defaults: the 30 days before now), checked against its size limit. */
export function usageWindow(
  query: { since?: string | undefined; until?: string | undefined; granularity: UsageGranularity },
  now: Date,
): UsageWindow {
  const until = query.until ? new Date(query.until) : now;
  const since = query.since ? new Date(query.since) : new Date(until.getTime() - DEFAULT_WINDOW_MS);
  if (since >= until) throw new ApiError('validation_failed', 'since must be before until');
  if (until.getTime() - since.getTime() > MAX_WINDOW_MS[query.granularity]) {
    throw new ApiError(
      'validation_failed',
      query.granularity === 'hour' ? 'An hourly window is at most 31 days' : 'The window is at most 366 days',
    );
  }
  return { since, until, granularity: query.granularity };
}

/** Whose usage: always one organization's, optionally narrowed. */
export interface UsageScope {
  organizationId: string;
  /** The workspaces' owner. */
  userId?: string | undefined;
  workspaceId?: string | undefined;
  /** People with this group or team among those their sign-in provider sent. */
  team?: string | undefined;
}

/** People who carry `team` among their identities' groups (any provider). */
export function inTeam(userColumn: AnyPgColumn, team: string): SQL {
  return sql`exists (select 1 from ${userIdentities} where ${userIdentities.userId} = ${userColumn} and ${userIdentities.groups} @> ${JSON.stringify([team])}::jsonb)`;
}

const tableOf = (g: UsageGranularity) =>
  (g === 'hour' ? usageHourly : usageDaily) as unknown as UsageRollupTable;

function conditions(t: UsageRollupTable, scope: UsageScope, window: UsageWindow): SQL {
  const first = window.granularity === 'hour' ? hourStart(window.since) : dayStart(window.since);
  return and(
    eq(t.organizationId, scope.organizationId),
    gte(t.bucketStart, first),
    lt(t.bucketStart, window.until),
    scope.userId === undefined ? undefined : eq(t.userId, scope.userId),
    scope.workspaceId === undefined ? undefined : eq(t.workspaceId, scope.workspaceId),
    scope.team === undefined ? undefined : inTeam(t.userId, scope.team),
  )!;
}

// Sums as float8: a number (not a string) from both drivers, exact far beyond any real total.
function totalsOf(t: UsageRollupTable) {
  const sum = (c: AnyPgColumn) => sql<number>`coalesce(sum(${c}), 0)::float8`;
  return {
    cpuSeconds: sum(t.cpuSeconds),
    memoryGibHours: sql<number>`(coalesce(sum(${t.memoryByteSeconds}), 0) / ${GIB_HOUR})::float8`,
    storageGibHours: sql<number>`(coalesce(sum(${t.storageByteSeconds}), 0) / ${GIB_HOUR})::float8`,
    peakStorageBytes: sql<number>`coalesce(max(${t.peakStorageBytes}), 0)::float8`,
    runningSeconds: sum(t.runningSeconds),
    commands: sum(t.commands),
    aiCalls: sum(t.aiCalls),
    aiPromptTokens: sum(t.aiPromptTokens),
    aiCompletionTokens: sum(t.aiCompletionTokens),
  };
}

/** Numbers as the contract has them: whole counts, and no float noise in the hours. */
function tidy<T extends ResourceTotals>(row: T): T {
  const n = (x: unknown) => Number(x) || 0;
  return {
    ...row,
    cpuSeconds: n(row.cpuSeconds),
    memoryGibHours: n(row.memoryGibHours),
    storageGibHours: n(row.storageGibHours),
    peakStorageBytes: Math.round(n(row.peakStorageBytes)),
    runningSeconds: Math.round(n(row.runningSeconds)),
    commands: Math.round(n(row.commands)),
    aiCalls: Math.round(n(row.aiCalls)),
    aiPromptTokens: Math.round(n(row.aiPromptTokens)),
    aiCompletionTokens: Math.round(n(row.aiCompletionTokens)),
  };
}

const toDate = (v: unknown) => (v instanceof Date ? v : new Date(String(v)));

export interface ResourceUsage {
  totals: ResourceTotals;
  buckets: UsageBucket[];
  workspaces: WorkspaceUsage[];
}

/** Totals, buckets (oldest first) and the heaviest workspaces of a scope in a window. */
export async function readResourceUsage(
  db: Database,
  scope: UsageScope,
  window: UsageWindow,
): Promise<ResourceUsage> {
  const t = tableOf(window.granularity);
  const where = conditions(t, scope, window);
  const totals = totalsOf(t);
  const [all, buckets, byWorkspace] = await Promise.all([
    db.select(totals).from(t).where(where),
    db
      .select({
        start: t.bucketStart,
        workspacesRunning: sql<number>`(count(distinct ${t.workspaceId}) filter (where ${t.runningSeconds} > 0))::int`,
        ...totals,
      })
      .from(t)
      .where(where)
      .groupBy(t.bucketStart)
      .orderBy(t.bucketStart),
    db
      .select({
        workspaceId: t.workspaceId,
        name: workspaces.name,
        deletedAt: workspaces.deletedAt,
        ownerId: sql<string>`max(${t.userId})`,
        ...totals,
      })
      .from(t)
      .leftJoin(workspaces, eq(workspaces.id, t.workspaceId))
      .where(where)
      .groupBy(t.workspaceId, workspaces.name, workspaces.deletedAt)
      .orderBy(desc(totals.cpuSeconds), t.workspaceId)
      .limit(MAX_USAGE_WORKSPACES),
  ]);
  return {
    totals: tidy(all[0]!),
    buckets: buckets.map((b) => ({
      ...tidy(b),
      start: toDate(b.start).toISOString(),
      workspacesRunning: Number(b.workspacesRunning),
    })),
    workspaces: byWorkspace.map(({ deletedAt, name, ...w }) => ({
      ...tidy(w),
      // A deleted workspace's usage stays; its name does not.
      name: deletedAt || name === null ? null : name,
    })),
  };
}

/** Per person (the workspaces' owners), the heaviest by CPU-seconds first. */
export async function readUsageByUser(db: Database, scope: UsageScope, window: UsageWindow) {
  const t = tableOf(window.granularity);
  const totals = totalsOf(t);
  const rows = await db
    .select({ userId: t.userId, email: users.email, ...totals })
    .from(t)
    .leftJoin(users, eq(users.id, t.userId))
    .where(conditions(t, scope, window))
    .groupBy(t.userId, users.email)
    .orderBy(desc(totals.cpuSeconds), t.userId)
    .limit(MAX_USAGE_USERS);
  return rows.map(tidy);
}

/** Per group or team the sign-in providers sent; a person in two teams counts in both. */
export async function readUsageByTeam(db: Database, scope: UsageScope, window: UsageWindow) {
  const t = tableOf(window.granularity);
  const totals = totalsOf(t);
  const members = db
    .selectDistinct({
      userId: userIdentities.userId,
      team: sql<string>`jsonb_array_elements_text(coalesce(${userIdentities.groups}, '[]'::jsonb))`.as(
        'team',
      ),
    })
    .from(userIdentities)
    .as('members');
  const rows = await db
    .select({ team: members.team, ...totals })
    .from(t)
    .innerJoin(members, eq(members.userId, t.userId))
    .where(conditions(t, scope, window))
    .groupBy(members.team)
    .orderBy(desc(totals.cpuSeconds), members.team)
    .limit(MAX_USAGE_USERS);
  return rows.map(tidy);
}

export const USAGE_CSV_HEADER =
  'bucket_start,workspace_id,workspace_name,owner_id,cpu_seconds,memory_gib_hours,storage_gib_hours,peak_storage_bytes,running_seconds,commands,ai_calls,ai_prompt_tokens,ai_completion_tokens\r\n';

/** The rollup rows themselves, one per bucket and workspace, as CSV lines (oldest first). */
export async function readUsageCsv(
  db: Database,
  scope: UsageScope,
  window: UsageWindow,
): Promise<{ csv: string; rows: number; truncated: boolean }> {
  const t = tableOf(window.granularity);
  const rows = await db
    .select({
      start: t.bucketStart,
      workspaceId: t.workspaceId,
      name: workspaces.name,
      deletedAt: workspaces.deletedAt,
      userId: t.userId,
      cpuSeconds: t.cpuSeconds,
      memoryByteSeconds: t.memoryByteSeconds,
      storageByteSeconds: t.storageByteSeconds,
      peakStorageBytes: t.peakStorageBytes,
      runningSeconds: t.runningSeconds,
      commands: t.commands,
      aiCalls: t.aiCalls,
      aiPromptTokens: t.aiPromptTokens,
      aiCompletionTokens: t.aiCompletionTokens,
    })
    .from(t)
    .leftJoin(workspaces, eq(workspaces.id, t.workspaceId))
    .where(conditions(t, scope, window))
    .orderBy(t.bucketStart, t.workspaceId)
    .limit(MAX_USAGE_CSV_ROWS + 1);
  const truncated = rows.length > MAX_USAGE_CSV_ROWS;
  let csv = USAGE_CSV_HEADER;
  for (const r of rows.slice(0, MAX_USAGE_CSV_ROWS)) {
    csv += [
      toDate(r.start).toISOString(),
      csvCell(r.workspaceId),
      r.deletedAt || r.name === null ? '' : csvCell(r.name),
      csvCell(r.userId),
      Number(r.cpuSeconds),
      Number(r.memoryByteSeconds) / GIB_HOUR,
      Number(r.storageByteSeconds) / GIB_HOUR,
      Number(r.peakStorageBytes),
      Number(r.runningSeconds),
      Number(r.commands),
      Number(r.aiCalls),
      Number(r.aiPromptTokens),
      Number(r.aiCompletionTokens),
    ].join(',');
    csv += '\r\n';
  }
  return { csv, rows: Math.min(rows.length, MAX_USAGE_CSV_ROWS), truncated };
}
