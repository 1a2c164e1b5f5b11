import {
  bigint,
  bigserial,
  doublePrecision,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
} from 'drizzle-orm/pg-core';
import { createdAt, tz } from './columns.ts';

/**
 * One row per model call: who, where, which model, tokens and latency. Never text.
 * Read by usage dashboards per user and per organization.
 */
export const aiUsage = pgTable(
  'ai_usage',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    organizationId: text('organization_id').notNull(),
    userId: text('user_id').notNull(),
    workspaceId: text('workspace_id'),
    /** explain | rewrite | chat */
    kind: text('kind').notNull(),
    model: text('model').notNull(),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    firstTokenMs: integer('first_token_ms'),
    latencyMs: integer('latency_ms').notNull(),
    /** success | failure | cancelled */
    outcome: text('outcome').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('ai_usage_org_created_idx').on(t.organizationId, t.createdAt),
    index('ai_usage_user_created_idx').on(t.userId, t.createdAt),
  ],
);

/**
 * What one workspace used in one UTC hour (`usage_hourly`) or day (`usage_daily`). Both are
 * written at once by the edge as reports arrive (an upsert that adds), so no roll-up job runs
 * and any number of edges may write. `user_id` is the workspace's owner, kept here so a
 * person's use survives the workspace's deletion; there is no foreign key to `workspaces` for
 * the same reason. Sums of seconds and bytes are float8: exact far beyond any real total.
 */
function usageRollup(name: 'usage_hourly' | 'usage_daily') {
  return pgTable(
    name,
    {
      workspaceId: text('workspace_id').notNull(),
      /** The hour's or day's start (UTC). */
      bucketStart: tz('bucket_start').notNull(),
      organizationId: text('organization_id').notNull(),
      userId: text('user_id').notNull(),
      cpuSeconds: doublePrecision('cpu_seconds').notNull().default(0),
      memoryByteSeconds: doublePrecision('memory_byte_seconds').notNull().default(0),
      storageByteSeconds: doublePrecision('storage_byte_seconds').notNull().default(0),
      peakStorageBytes: bigint('peak_storage_bytes', { mode: 'number' }).notNull().default(0),
      runningSeconds: bigint('running_seconds', { mode: 'number' }).notNull().default(0),
      commands: bigint('commands', { mode: 'number' }).notNull().default(0),
      aiCalls: bigint('ai_calls', { mode: 'number' }).notNull().default(0),
      aiPromptTokens: bigint('ai_prompt_tokens', { mode: 'number' }).notNull().default(0),
      aiCompletionTokens: bigint('ai_completion_tokens', { mode: 'number' }).notNull().default(0),
    },
    (t) => [
      primaryKey({ columns: [t.workspaceId, t.bucketStart] }),
      index(`${name}_org_bucket_idx`).on(t.organizationId, t.bucketStart),
      index(`${name}_user_bucket_idx`).on(t.userId, t.bucketStart),
    ],
  );
}

export const usageHourly = usageRollup('usage_hourly');
export const usageDaily = usageRollup('usage_daily');
/** Either rollup: their columns are the same. */
export type UsageRollupTable = typeof usageHourly;
