import { bigint, bigserial, index, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, tz } from './columns.ts';

/**
 * The audit trail: metadata and SHA-256 hashes only, never source, prompts or answers.
 * Rows are chained per organization (`chain`): each row's hash covers the previous row's
 * hash, so an altered or deleted row breaks the chain.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** The organization id, or `global` for events with no organization (failed sign-ins). */
    chain: text('chain').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    action: text('action').notNull(),
    outcome: text('outcome').notNull(),
    actorId: text('actor_id'),
    organizationId: text('organization_id'),
    workspaceId: text('workspace_id'),
    targetId: text('target_id'),
    metadata: jsonb('metadata').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('audit_events_chain_seq_key').on(t.chain, t.seq),
    index('audit_events_org_idx').on(t.organizationId),
  ],
);

/**
 * The head of each chain, moved in the same transaction as every append and sealed with a MAC
 * under the server's secret key: a deleted last row (which leaves the rest of the chain intact)
 * no longer matches the head, and the head cannot be rewritten without the key.
 */
export const auditHeads = pgTable('audit_heads', {
  chain: text('chain').primaryKey(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  hash: text('hash').notNull(),
  mac: text('mac').notNull(),
  updatedAt: tz('updated_at').notNull().defaultNow(),
});
