import { sql } from 'drizzle-orm';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';

/** Where drizzle-kit writes the committed SQL migrations. */
export const migrationsFolder = new URL('./migrations', import.meta.url).pathname;

/** Any fixed number: all Keel instances take the same lock, so only one migrates at a time. */
const MIGRATION_LOCK_ID = 4_101_967_223;

/**
 * Applies pending migrations. Safe to run from several instances at once: a session-level
 * advisory lock serialises them, and each one skips what another already applied.
 */
export async function migratePostgresDatabase(
  db: PostgresJsDatabase<Record<string, unknown>>,
): Promise<void> {
  await db.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`);
  try {
    await migratePostgres(db, { migrationsFolder });
  } finally {
    await db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`);
  }
}

/** PGlite has one connection per process, so there is nothing to serialise against. */
export async function migratePgliteDatabase(db: PgliteDatabase<Record<string, unknown>>): Promise<void> {
  await migratePglite(db, { migrationsFolder });
}
