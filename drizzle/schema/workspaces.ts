import { boolean, index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { organizations, users } from './accounts.ts';
import { createdAt, tz } from './columns.ts';
import { runners } from './runners.ts';
import { servers } from './servers.ts';

export const workspaces = pgTable(
  'workspaces',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    ownerId: text('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    source: jsonb('source')
      .$type<
        | { type: 'empty' }
        | { type: 'git'; url: string; ref?: string }
        | { type: 'snapshot'; snapshotId: string }
      >()
      .notNull(),
    resources: jsonb('resources')
      .$type<{ cpus: number; memoryMb: number; diskMb?: number; gpus?: number }>()
      .notNull(),
    /** What it asked of placement (contract WorkspacePlacementRequest), kept for every re-placement. */
    placement: jsonb('placement').$type<{
      region?: string;
      requiredLabels?: Record<string, string>;
      preferredLabels?: Record<string, string>;
    }>(),
    /** Raised each time it moves to another runner (fencing: see contract/fleet). */
    generation: integer('generation').notNull().default(1),
    /** A move asked for (drain, by hand) and not yet handed off (contract WorkspaceMove). */
    move: jsonb('move').$type<Record<string, unknown>>(),
    network: boolean('network').notNull().default(false),
    /**
     * The driver the workspace was created on (`docker`, `process`, …), chosen once; a runner
     * that cannot serve it reports the workspace unavailable instead of re-reading it. null only
     * for rows made before the column existed.
     */
    driver: text('driver'),
    runnerId: text('runner_id').references(() => runners.id, { onDelete: 'set null' }),
    /** The infrastructure server it lives on; null: the runner's own host. */
    serverId: text('server_id').references(() => servers.id, { onDelete: 'set null' }),
    /** The last status the edge saw; the runner's live status in Redis wins when present. */
    status: text('status').notNull(),
    statusReason: text('status_reason'),
    lastActiveAt: tz('last_active_at'),
    deletedAt: tz('deleted_at'),
    createdAt: createdAt(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [index('workspaces_org_idx').on(t.organizationId), index('workspaces_runner_idx').on(t.runnerId)],
);
