import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { migratePgliteDatabase, migratePostgresDatabase } from './migrate.ts';

const url = process.env.DATABASE_URL;
try {
  if (url) {
    const client = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await migratePostgresDatabase(drizzlePostgres(client));
    } finally {
      await client.end();
    }
    console.log('migrations applied to DATABASE_URL');
  } else {
    const dir = resolve(process.env.KEEL_DATA_DIR ?? '.keel', 'pglite');
    mkdirSync(dir, { recursive: true });
    const client = new PGlite(dir);
    try {
      await migratePgliteDatabase(drizzlePglite(client));
    } finally {
      await client.close();
    }
    console.log(`migrations applied to PGlite at ${dir}`);
  }
} catch (err) {
  console.error(`migration failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
