import { jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { users } from './accounts.ts';
import { tz } from './columns.ts';

/**
 * Settings of the whole install, shared by every organization (workspace network policy,
 * resource maxima). One row per settings document (`id`), validated by the contract's schema
 * on read and write; only install administrators change them.
 */
export const installSettings = pgTable('install_settings', {
  id: text('id').primaryKey(),
  settings: jsonb('settings').$type<Record<string, unknown>>().notNull(),
  updatedBy: text('updated_by').references(() => users.id, { onDelete: 'set null' }),
  updatedAt: tz('updated_at').notNull().defaultNow(),
});
