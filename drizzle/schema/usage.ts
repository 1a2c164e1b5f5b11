import { bigserial, index, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.ts';

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
