import { PGlite } from '@electric-sql/pglite';
import { migratePgliteDatabase } from '@keel/drizzle/migrate';
import * as schema from '@keel/drizzle/schema';
import { drizzle } from 'drizzle-orm/pglite';
import { observePglite, type QueryObserver } from '../metrics/db-metrics.ts';
import type { Database, DatabaseHandle } from './database.ts';

/**
 * The embedded database for a single box: PGlite with its files under `dataDir`
 * (or in memory when no folder is given, for tests). Node only.
 */
export async function openPglite(
  dataDir: string | undefined,
  observer?: QueryObserver,
): Promise<DatabaseHandle> {
  const client = dataDir ? new PGlite(dataDir) : new PGlite();
  await client.waitReady;
  if (observer) observePglite(client, observer);
  const db = drizzle(client, { schema });
  await migratePgliteDatabase(db);
  return { db: db as unknown as Database, close: () => client.close() };
}
