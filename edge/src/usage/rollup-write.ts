import { type UsageRollupTable, usageDaily, usageHourly } from '@keel/drizzle/schema';
import { sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Database } from '../services/database.ts';

/** Whose a rollup row is: the workspace, its organization and its owner. */
export interface UsageOwner {
  workspaceId: string;
  organizationId: string;
  userId: string;
}

/** What to add into a workspace's hour and day; absent fields add nothing. */
export interface UsageIncrement {
  cpuSeconds?: number;
  memoryByteSeconds?: number;
  storageByteSeconds?: number;
  /** Kept as the maximum, not added. */
  peakStorageBytes?: number;
  runningSeconds?: number;
  commands?: number;
  aiCalls?: number;
  aiPromptTokens?: number;
  aiCompletionTokens?: number;
}

export interface UsageEntry {
  owner: UsageOwner;
  /** Any instant of the hour it belongs to. */
  at: Date;
  add: UsageIncrement;
}

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

export const hourStart = (d: Date) => new Date(Math.floor(d.getTime() / HOUR_MS) * HOUR_MS);
export const dayStart = (d: Date) => new Date(Math.floor(d.getTime() / DAY_MS) * DAY_MS);

type Row = typeof usageHourly.$inferInsert & {
  cpuSeconds: number;
  memoryByteSeconds: number;
  storageByteSeconds: number;
  peakStorageBytes: number;
  runningSeconds: number;
  commands: number;
  aiCalls: number;
  aiPromptTokens: number;
  aiCompletionTokens: number;
};

const SUMMED = [
  'cpuSeconds',
  'memoryByteSeconds',
  'storageByteSeconds',
  'runningSeconds',
  'commands',
  'aiCalls',
  'aiPromptTokens',
  'aiCompletionTokens',
] as const;

/** One row per (workspace, bucket): one statement may not touch a row twice. */
function merged(entries: readonly UsageEntry[], startOf: (d: Date) => Date): Row[] {
  const rows = new Map<string, Row>();
  for (const { owner, at, add } of entries) {
    const bucketStart = startOf(at);
    const key = `${owner.workspaceId}\u0000${bucketStart.getTime()}`;
    let row = rows.get(key);
    if (!row) {
      row = {
        ...owner,
        bucketStart,
        cpuSeconds: 0,
        memoryByteSeconds: 0,
        storageByteSeconds: 0,
        peakStorageBytes: 0,
        runningSeconds: 0,
        commands: 0,
        aiCalls: 0,
        aiPromptTokens: 0,
        aiCompletionTokens: 0,
      };
      rows.set(key, row);
    }
    for (const k of SUMMED) row[k] += add[k] ?? 0;
    row.peakStorageBytes = Math.max(row.peakStorageBytes, Math.round(add.peakStorageBytes ?? 0));
  }
  for (const row of rows.values()) {
    // Integer columns: whole units only (sums of whole numbers stay whole).
    row.runningSeconds = Math.round(row.runningSeconds);
    row.commands = Math.round(row.commands);
    row.aiCalls = Math.round(row.aiCalls);
    row.aiPromptTokens = Math.round(row.aiPromptTokens);
    row.aiCompletionTokens = Math.round(row.aiCompletionTokens);
  }
  return [...rows.values()];
}

async function upsert(db: Database, table: UsageRollupTable, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  const added = (column: AnyPgColumn) => sql`${column} + excluded.${sql.identifier(column.name)}`;
  await db
    .insert(table)
    .values(rows)
    .onConflictDoUpdate({
      target: [table.workspaceId, table.bucketStart],
      set: {
        cpuSeconds: added(table.cpuSeconds),
        memoryByteSeconds: added(table.memoryByteSeconds),
        storageByteSeconds: added(table.storageByteSeconds),
        peakStorageBytes: sql`greatest(${table.peakStorageBytes}, excluded.${sql.identifier(table.peakStorageBytes.name)})`,
        runningSeconds: added(table.runningSeconds),
        commands: added(table.commands),
        aiCalls: added(table.aiCalls),
        aiPromptTokens: added(table.aiPromptTokens),
        aiCompletionTokens: added(table.aiCompletionTokens),
      },
    });
}

/**
 * Adds usage into both rollups, the hour's and the day's rows, with upserts that add: the roll
 * up happens as usage is written, so any number of edges may write at once and no job has to
 * summarise later. Callers pass a transaction when the usage must land with something else (or
 * not at all).
 */
export async function addUsage(db: Database, entries: readonly UsageEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await upsert(db, usageHourly, merged(entries, hourStart));
  await upsert(db, usageDaily as unknown as UsageRollupTable, merged(entries, dayStart));
}
