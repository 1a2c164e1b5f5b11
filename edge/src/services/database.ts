import * as schema from '@keel/drizzle/schema';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { observePostgres, type QueryObserver } from '../metrics/db-metrics.ts';

export type Schema = typeof schema;
/** Both drivers (postgres.js and PGlite) give this type; routes never know which. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;

export interface DatabaseHandle {
  db: Database;
  close(): Promise<void>;
}

/**
 * postgres.js over TCP. `max` is small in workerd, where a connection lives for one
 * request; Node keeps a pool for the process.
 */
export function connectPostgres(
  url: string,
  options: { max: number; observer?: QueryObserver | undefined },
): DatabaseHandle {
  const client = postgres(url, {
    max: options.max,
    // The edge asks only short questions; fail fast instead of queueing behind a dead server.
    connect_timeout: 5,
    // Between attempts to reconnect after a lost connection, at most a second (postgres.js's
    // own grows to 20 s): a query waits for that attempt, so a restarted server is used at once.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    idle_timeout: 30,
    onnotice: () => {},
  });
  if (options.observer) observePostgres(client, options.observer, options.max);
  const db = drizzle(client, { schema }) as unknown as Database;
  return { db, close: () => client.end({ timeout: 5 }) };
}
