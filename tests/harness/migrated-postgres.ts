import { migratePostgresDatabase } from '@keel/drizzle/migrate';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { testInfra } from './infra.ts';

/** A new PostgreSQL database with Keel's migrations applied, for a process that will not migrate itself. */
export async function freshDatabaseUrl(): Promise<string> {
  const url = await (await testInfra()).createPostgresDatabase();
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await migratePostgresDatabase(drizzle(client));
  } finally {
    await client.end();
  }
  return url;
}
