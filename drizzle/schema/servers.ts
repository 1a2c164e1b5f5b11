import { boolean, index, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { organizations, users } from './accounts.ts';
import { createdAt, tz } from './columns.ts';

/**
 * Infrastructure servers an organization's admins registered: Docker hosts over SSH or mutual
 * TLS, and Kubernetes API servers. What is not secret (host, port, user, API URL, CA and client
 * certificates, the pinned host key) is in `endpoint`; keys, passphrases and tokens only in
 * `credentialSealed` (SecretBox, purpose `server-credential:<id>`), never read back out.
 */
export const servers = pgTable(
  'servers',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    kind: text('kind').notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull(),
    region: text('region'),
    capacity: jsonb('capacity').$type<{ workspaces: number; cpus?: number; memoryMb?: number }>().notNull(),
    storage: jsonb('storage').$type<Record<string, unknown>>().notNull(),
    /** `{ runnerId }` or `{ runnerLabels }`; null: not assigned, so nothing can reach it. */
    assignment: jsonb('assignment').$type<{ runnerId: string } | { runnerLabels: Record<string, string> }>(),
    endpoint: jsonb('endpoint').$type<Record<string, unknown>>().notNull(),
    credentialSealed: text('credential_sealed').notNull(),
    /** SHA-256 of the secret (or of an SSH key's public half), for people to tell credentials apart. */
    credentialFingerprint: text('credential_fingerprint').notNull(),
    credentialUpdatedAt: tz('credential_updated_at').notNull().defaultNow(),
    /** The SSH host key the last test met while none was pinned, waiting for an admin to confirm it. */
    offeredHostKey: text('offered_host_key'),
    status: text('status').notNull().default('new'),
    lastTest: jsonb('last_test').$type<Record<string, unknown>>(),
    disabled: boolean('disabled').notNull().default(false),
    /** Closed to new workspaces; its workspaces move away. */
    drainingAt: tz('draining_at'),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('servers_org_name_key').on(t.organizationId, t.name),
    index('servers_org_idx').on(t.organizationId),
  ],
);
