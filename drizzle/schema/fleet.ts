import { bigint, boolean, index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { organizations, users } from './accounts.ts';
import { createdAt, tz } from './columns.ts';
import { workspaces } from './workspaces.ts';

/**
 * Snapshots of workspaces' files. The files are in the snapshot store (a manifest and
 * content-addressed chunks, see contract/snapshots); this row says whose, when, how big, and
 * at which placement generation the runner that saved it held the workspace.
 */
export const snapshots = pgTable(
  'snapshots',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    reason: text('reason').notNull(),
    status: text('status').notNull().default('pending'),
    error: text('error'),
    generation: integer('generation').notNull(),
    runnerId: text('runner_id'),
    files: integer('files'),
    bytes: bigint('bytes', { mode: 'number' }),
    bytesWritten: bigint('bytes_written', { mode: 'number' }),
    pinned: boolean('pinned').notNull().default(false),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    takenAt: tz('taken_at'),
    /** Deleted rows wait here until a runner has pruned their manifest from the store. */
    deletedAt: tz('deleted_at'),
  },
  (t) => [index('snapshots_workspace_idx').on(t.workspaceId, t.createdAt)],
);

/** Every placement decision, with its candidates and why each was chosen or refused. */
export const placements = pgTable(
  'placements',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    generation: integer('generation').notNull(),
    reason: text('reason').notNull(),
    strategy: text('strategy'),
    decidedBy: text('decided_by').notNull(),
    runnerId: text('runner_id'),
    serverId: text('server_id'),
    summary: text('summary').notNull(),
    candidates: jsonb('candidates').$type<Record<string, unknown>[]>().notNull(),
    decidedAt: createdAt(),
  },
  (t) => [index('placements_workspace_idx').on(t.workspaceId, t.decidedAt)],
);

/**
 * Where snapshots are kept (one row, id `default`): the store (contract SnapshotStoreSettings),
 * an S3 secret sealed (SecretBox, purpose `snapshot-store`), never read back out, and the
 * schedule and retention.
 */
export const snapshotStore = pgTable('snapshot_store', {
  id: text('id').primaryKey(),
  store: jsonb('store').$type<Record<string, unknown>>().notNull(),
  secretSealed: text('secret_sealed'),
  secretFingerprint: text('secret_fingerprint'),
  intervalMinutes: integer('interval_minutes').notNull(),
  retention: integer('retention').notNull(),
  onStop: boolean('on_stop').notNull().default(true),
  updatedBy: text('updated_by').references(() => users.id, { onDelete: 'set null' }),
  updatedAt: tz('updated_at').notNull().defaultNow(),
});
