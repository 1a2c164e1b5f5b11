/**
 * The embedded database's part of a backup. PGlite's folder belongs to one process at a time,
 * and a copy taken while it writes may be torn, so the backup copies a folder nobody holds,
 * opens the copy (which replays its write-ahead log, as a start after a crash would) and takes
 * PGlite's own dump of it (`dumpDataDir`). The restore loads that dump into a new folder
 * (`loadDataDir`), opens it once to check it, and only then swaps it in; the old folder is
 * kept beside it.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import * as schema from '@keel/drizzle/schema';
import { drizzle } from 'drizzle-orm/pglite';
import type { Database } from '../../edge/src/services/database.ts';
import type { Query } from './backup-database.ts';

export function pgliteVersion(): string {
  const pkg = JSON.parse(
    // The package exports no ./package.json; its entry is dist/index.js.
    readFileSync(new URL('../package.json', import.meta.resolve('@electric-sql/pglite')), 'utf8'),
  ) as { version: string };
  return pkg.version;
}

export interface OpenPglite {
  query: Query;
  db: Database;
  /** PGlite's own dump of the whole folder, gzipped. */
  dump(): Promise<Blob>;
  close(): Promise<void>;
}

function wrap(client: PGlite): OpenPglite {
  return {
    query: async (text) => (await client.query<Record<string, unknown>>(text)).rows,
    db: drizzle(client, { schema }) as unknown as Database,
    dump: () => client.dumpDataDir('gzip'),
    close: () => client.close(),
  };
}

export async function openPgliteFolder(dir: string): Promise<OpenPglite> {
  const client = new PGlite(dir);
  await client.waitReady;
  return wrap(client);
}

/**
 * Dumps the folder `dir` (which no process may hold) into `file` (a gzipped tar), through a
 * copy; `inspect` reads what the manifest needs from the copy while it is open.
 */
export async function dumpPglite<T>(
  dir: string,
  file: string,
  inspect: (db: OpenPglite) => Promise<T>,
): Promise<{ serverVersion: string; inspected: T }> {
  const scratch = mkdtempSync(join(dirname(file), '.pglite-copy-'));
  try {
    const copy = join(scratch, 'pglite');
    cpSync(dir, copy, { recursive: true });
    const db = await openPgliteFolder(copy);
    try {
      const [row] = await db.query('show server_version');
      const inspected = await inspect(db);
      const dump = await db.dump();
      writeFileSync(file, Buffer.from(await dump.arrayBuffer()), { mode: 0o600 });
      return { serverVersion: String(row?.server_version ?? '?'), inspected };
    } finally {
      await db.close();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Loads `file` into a new folder beside `dir` and hands it, open, to `check`; when the check
 * passes, the folder replaces `dir` and the old one is kept as `<dir>.before-restore-<stamp>`.
 * Returns that name (null when there was no old folder).
 */
export async function restorePglite(
  dir: string,
  file: string,
  stamp: string,
  check: (db: OpenPglite) => Promise<void>,
): Promise<string | null> {
  const fresh = `${dir}.restoring-${stamp}`;
  mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
  rmSync(fresh, { recursive: true, force: true });
  try {
    const client = new PGlite(fresh, { loadDataDir: new Blob([readFileSync(file)]) });
    await client.waitReady;
    const db = wrap(client);
    try {
      await check(db);
    } finally {
      await db.close();
    }
  } catch (err) {
    rmSync(fresh, { recursive: true, force: true });
    throw err;
  }
  const kept = `${dir}.before-restore-${stamp}`;
  let keptName: string | null = kept;
  try {
    renameSync(dir, kept);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    keptName = null;
  }
  renameSync(fresh, dir);
  return keptName;
}
