import { index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { organizations, users } from './accounts.ts';
import { createdAt, tz } from './columns.ts';

/** One-time (or few-times) tokens an admin hands to an operator to register a runner host. */
export const runnerTokens = pgTable(
  'runner_tokens',
  {
    id: text('id').primaryKey(),
    /** null: a token for a shared runner, made by an install administrator. */
    organizationId: text('organization_id').references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name'),
    labels: jsonb('labels').$type<Record<string, string>>().notNull(),
    /** SHA-256 of the token; the token is shown once. */
    tokenHash: text('token_hash').notNull(),
    maxUses: integer('max_uses').notNull(),
    uses: integer('uses').notNull().default(0),
    expiresAt: tz('expires_at').notNull(),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    revokedAt: tz('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('runner_tokens_hash_key').on(t.tokenHash)],
);

export const runners = pgTable(
  'runners',
  {
    id: text('id').primaryKey(),
    /** null: a shared runner (the one `scripts/up` starts) that serves every organization. */
    organizationId: text('organization_id').references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull(),
    drivers: jsonb('drivers').$type<string[]>().notNull(),
    capacity: jsonb('capacity').$type<{ workspaces: number; cpus: number; memoryMb: number }>().notNull(),
    version: text('version').notNull(),
    /** SHA-256 of the runner's credential. */
    credentialHash: text('credential_hash').notNull(),
    registeredWith: text('registered_with').references(() => runnerTokens.id, { onDelete: 'set null' }),
    revokedAt: tz('revoked_at'),
    /** Closed to new workspaces; its workspaces move away. */
    drainingAt: tz('draining_at'),
    /** Its heartbeat was gone past the deadline and its workspaces moved; cleared when it returns. */
    lostAt: tz('lost_at'),
    /** The last time the sweep saw its heartbeat (how long it has been gone). */
    lastSeenAt: tz('last_seen_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('runners_credential_key').on(t.credentialHash),
    index('runners_org_idx').on(t.organizationId),
  ],
);
