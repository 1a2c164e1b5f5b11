import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { freePort, waitFor } from './ports.ts';

export interface PostgresServer {
  /** URL of the maintenance database; use `createDatabase` for one per test. */
  url: string;
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
  /** Immediate shutdown, synchronously signalled: for a process 'exit' handler, where nothing can be awaited. */
  killNow(): void;
  /**
   * Stops the server as an operator's restart does (fast shutdown: open sessions are ended and
   * their transactions rolled back), keeping its data and port for `up`.
   */
  down(): Promise<void>;
  /** Starts it again after `down`, on the same port and data. */
  up(): Promise<void>;
}

function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) throw new Error('PostgreSQL server is not installed (apt-get install postgresql)');
  const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(base, v, 'bin', 'postgres'))) return join(base, v, 'bin');
  throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
}

/**
 * A throwaway PostgreSQL cluster on a free port. PostgreSQL refuses to run as root, so as
 * root it runs as the `postgres` system user the Debian package creates.
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'keel-pg-'));
  // Spawned straight under the postgres user's ids (no runuser in between), so signals
  // reach the server itself.
  let ids: { uid: number; gid: number } | undefined;
  if (process.getuid?.() === 0) {
    ids = {
      uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
      gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
    };
    chownSync(dir, ids.uid, ids.gid);
  }
  const data = join(dir, 'data');
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'keel', '-A', 'trust', '-E', 'UTF8', '--no-sync'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    cwd: dir,
    ...ids,
  });
  const args = ['-D', data, '-p', String(port), '-k', dir];
  args.push('-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200');
  const url = `postgres://keel@127.0.0.1:${port}/postgres`;
  const launch = async (): Promise<ChildProcess> => {
    const child: ChildProcess = spawn(join(bin, 'postgres'), args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: dir,
      ...ids,
    });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    await waitFor('postgres', async () => {
      if (child.exitCode !== null) throw new Error(`postgres exited: ${stderr}`);
      const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
      try {
        await sql`select 1`;
        return true;
      } finally {
        await sql.end({ timeout: 1 });
      }
    });
    return child;
  };
  const halt = async (c: ChildProcess) => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGINT');
    await exited;
  };
  let child = await launch();
  let counter = 0;
  return {
    url,
    async createDatabase(name) {
      const db = name ?? `t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`create database "${db}"`);
      } finally {
        await sql.end();
      }
      return `postgres://keel@127.0.0.1:${port}/${db}`;
    },
    async stop() {
      await halt(child);
      rmSync(dir, { recursive: true, force: true });
    },
    killNow() {
      if (child.exitCode === null) child.kill('SIGQUIT');
    },
    down: () => halt(child),
    async up() {
      child = await launch();
    },
  };
}
