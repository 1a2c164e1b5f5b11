/**
 * PostgreSQL's part of a backup: `pg_dump -Fc` (a consistent snapshot, taken while edges run)
 * and `pg_restore --clean --if-exists` in one transaction. The password travels in PGPASSWORD,
 * never on a command line another user could read.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { BackupRefused } from './backup-manifest.ts';

/** The named PostgreSQL client tool, newest first: pg_dump must be at least the server's version. */
export function postgresTool(name: 'pg_dump' | 'pg_restore'): string {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const tool = join(base, v, 'bin', name);
      if (existsSync(tool)) return tool;
    }
  }
  return name;
}

/** A libpq connection string without its password, and the password for PGPASSWORD. */
export function libpqTarget(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (password) env.PGPASSWORD = password;
  return { dbname: u.toString(), env };
}

export function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        reject(
          new BackupRefused(
            missing
              ? `${file} is not installed (apt-get install postgresql-client)`
              : `${file} failed: ${stderr.trim() || err.message}`,
          ),
        );
      } else resolve(stdout);
    });
  });
}

export async function toolVersion(tool: string): Promise<string> {
  return (await run(tool, ['--version'], process.env)).trim();
}

export function connect(url: string) {
  return postgres(url, { max: 1, connect_timeout: 10, onnotice: () => {} });
}

export async function dumpPostgres(url: string, file: string): Promise<void> {
  const { dbname, env } = libpqTarget(url);
  await run(postgresTool('pg_dump'), ['--format=custom', `--file=${file}`, `--dbname=${dbname}`], env);
}

/** Sessions on the database other than ours: the edges (and anything else) using it now. */
export async function otherSessions(
  url: string,
): Promise<{ pid: number; application: string; client: string }[]> {
  const sql = connect(url);
  try {
    const rows = await sql<{ pid: number; application: string; client: string | null }[]>`
      select pid, application_name as application, client_addr::text as client
      from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid()`;
    return rows.map((r) => ({ pid: r.pid, application: r.application, client: r.client ?? 'local socket' }));
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/**
 * True when the database exists; false when the server says it does not (3D000), as after a
 * `dropdb`. Any other failure (server down, wrong password) is thrown as it is.
 */
export async function databaseExists(url: string): Promise<boolean> {
  const sql = connect(url);
  try {
    await sql`select 1`;
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '3D000') return false;
    throw new BackupRefused(`cannot reach the database at DATABASE_URL: ${(err as Error).message}`);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** Creates the database the URL names, from the server's `postgres` database, owned by the URL's user. */
export async function createDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  if (!name) throw new BackupRefused('DATABASE_URL names no database');
  u.pathname = '/postgres';
  const sql = connect(u.toString());
  try {
    await sql.unsafe(`create database "${name.replaceAll('"', '""')}"`);
  } catch (err) {
    throw new BackupRefused(`could not create the database ${name}: ${(err as Error).message}`);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/**
 * Replaces the dump's objects in one transaction: a failure part-way leaves the database as it
 * was. Owners and grants are the connecting user's, so a restore under another role works.
 */
export async function restorePostgres(url: string, file: string): Promise<void> {
  const { dbname, env } = libpqTarget(url);
  await run(
    postgresTool('pg_restore'),
    [
      '--clean',
      '--if-exists',
      '--single-transaction',
      '--exit-on-error',
      '--no-owner',
      '--no-privileges',
      `--dbname=${dbname}`,
      file,
    ],
    env,
  );
}
