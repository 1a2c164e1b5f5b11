import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { migratePostgresDatabase } from '@keel/drizzle/migrate';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { testInfra } from '../harness/infra.ts';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

describe('migrations', () => {
  test('several instances migrating one PostgreSQL at once apply each migration exactly once', async () => {
    const url = await (await testInfra()).createPostgresDatabase();
    const clients = Array.from({ length: 4 }, () => postgres(url, { max: 1, onnotice: () => {} }));
    try {
      await Promise.all(clients.map((c) => migratePostgresDatabase(drizzle(c))));
      await migratePostgresDatabase(drizzle(clients[0]!));
      const applied = await clients[0]!`select count(*)::int as n from drizzle.__drizzle_migrations`;
      const journal = (
        await import('../../drizzle/migrations/meta/_journal.json', { with: { type: 'json' } })
      ).default;
      assert.equal(applied[0]!.n, journal.entries.length);
      const tables =
        await clients[0]!`select table_name from information_schema.tables where table_schema = 'public' order by 1`;
      const names = tables.map((t) => t.table_name);
      for (const t of [
        'users',
        'organizations',
        'memberships',
        'invitations',
        'refresh_token_families',
        'audit_events',
      ]) {
        assert.ok(names.includes(t), `table ${t}`);
      }
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  test('scripts/migrate applies to DATABASE_URL and to PGlite, and fails loudly on a bad target', async () => {
    const url = await (await testInfra()).createPostgresDatabase();
    const pg = await run(join(root, 'scripts/migrate'), [], { env: { ...process.env, DATABASE_URL: url } });
    assert.match(pg.stdout, /migrations applied to DATABASE_URL/);
    const dir = mkdtempSync(join(tmpdir(), 'keel-migrate-'));
    try {
      const lite = await run(join(root, 'scripts/migrate'), [], {
        env: { ...process.env, DATABASE_URL: '', KEEL_DATA_DIR: dir },
      });
      assert.match(lite.stdout, /migrations applied to PGlite/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await assert.rejects(
      run(join(root, 'scripts/migrate'), [], {
        env: { ...process.env, DATABASE_URL: 'postgres://keel@127.0.0.1:1/none' },
      }),
      /migration failed/,
    );
  });
});
