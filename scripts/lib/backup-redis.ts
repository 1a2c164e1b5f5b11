/**
 * Redis' part of a backup: its append-only files (queued jobs, sessions' state, runners'
 * streams). A running Redis is asked to rewrite its AOF (BGREWRITEAOF) so the copy is compact
 * and starts from a fresh base; the copy, or the folder of a stopped Redis, is then loaded by
 * a private redis-server that only this user can reach (a 0700 Unix socket, no TCP port, no
 * password to handle), which proves it loads and rewrites it once more into a clean base.
 * A restore checks the same way before it puts the files in place.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { redisArgs } from '../../edge/contract/src/redis-url.ts';
import { BackupRefused } from './backup-manifest.ts';

/** What scripts/up's Redis uses: Redis 7's defaults. */
export const DEFAULT_APPEND_DIRNAME = 'appendonlydir';
export const DEFAULT_APPEND_FILENAME = 'appendonly.aof';

const REWRITE_TIMEOUT_MS = Number(process.env.KEEL_BACKUP_REDIS_TIMEOUT_MS ?? 10 * 60_000);

export interface AofLayout {
  appendDirname: string;
  appendFilename: string;
}

interface Info {
  [key: string]: string;
}

async function info(client: Redis, section: string): Promise<Info> {
  const text = await client.info(section);
  const out: Info = {};
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

/** Keys in every database of the server. */
async function keyCount(client: Redis): Promise<number> {
  const keyspace = await info(client, 'keyspace');
  return Object.values(keyspace).reduce((n, v) => n + Number(/keys=(\d+)/.exec(v)?.[1] ?? 0), 0);
}

/** Asks for an AOF rewrite and waits for it to finish (or for one already running). */
async function rewriteAof(client: Redis): Promise<void> {
  try {
    await client.bgrewriteaof();
  } catch (err) {
    const message = (err as Error).message;
    if (/NOPERM/.test(message)) {
      throw new BackupRefused(
        'the Redis login may not run BGREWRITEAOF: give one that may (KEEL_BACKUP_REDIS_URL; it needs BGREWRITEAOF, INFO and CONFIG GET)',
      );
    }
    if (!/already in progress/i.test(message)) throw err;
  }
  const deadline = Date.now() + REWRITE_TIMEOUT_MS;
  for (;;) {
    const p = await info(client, 'persistence');
    if (p.aof_rewrite_in_progress === '0' && p.aof_rewrite_scheduled === '0') {
      if (p.aof_last_bgrewrite_status !== 'ok') {
        throw new BackupRefused(
          `Redis could not rewrite its append-only file (${p.aof_last_bgrewrite_status}): see its log`,
        );
      }
      return;
    }
    if (Date.now() > deadline)
      throw new BackupRefused('Redis did not finish rewriting its append-only file in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A redis-server on `dir`'s AOF, reachable only through a 0700 Unix socket in `dir`. */
async function privateRedis(
  dir: string,
  layout: AofLayout,
): Promise<{ client: Redis; stop(): Promise<void> }> {
  const socket = join(dir, 'redis.sock');
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--unixsocket',
      socket,
      '--unixsocketperm',
      '700',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appenddirname',
      layout.appendDirname,
      '--appendfilename',
      layout.appendFilename,
      '--save',
      '',
      '--logfile',
      join(dir, 'redis.log'),
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  const log = () =>
    existsSync(join(dir, 'redis.log')) ? readFileSync(join(dir, 'redis.log'), 'utf8').slice(-1500) : '';
  const deadline = Date.now() + REWRITE_TIMEOUT_MS;
  for (;;) {
    if (spawnError) throw new BackupRefused(`could not start redis-server: ${spawnError.message}`);
    if (child.exitCode !== null) {
      throw new BackupRefused(`redis-server could not load the append-only file: ${log().trim()}`);
    }
    if (existsSync(socket)) {
      const client = new Redis({
        path: socket,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      client.on('error', () => {});
      try {
        await client.connect();
        // Loading: Redis answers LOADING until the whole file is read.
        if ((await client.ping()) === 'PONG') {
          return {
            client,
            async stop() {
              await client.shutdown().catch(() => {});
              client.disconnect();
              await exited;
            },
          };
        }
      } catch {
        client.disconnect();
      }
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new BackupRefused('redis-server did not finish loading the append-only file in time');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Loads the AOF folder under `dir`, checks it, rewrites it into one clean base and stops.
 * Returns the server's version and its key count.
 */
export async function loadAndCompact(
  dir: string,
  layout: AofLayout,
): Promise<{ version: string; keys: number }> {
  const redis = await privateRedis(dir, layout);
  try {
    await rewriteAof(redis.client);
    const version = (await info(redis.client, 'server')).redis_version ?? '?';
    return { version, keys: await keyCount(redis.client) };
  } finally {
    await redis.stop();
  }
}

/** A scratch folder only this user may enter (mkdtemp makes it 0700). */
export function scratchFolder(): string {
  return mkdtempSync(join(tmpdir(), 'keel-backup-redis-'));
}

/** Copies an AOF folder; a rewrite that swaps its files mid-copy makes it try again. */
function copyAofFolder(from: string, to: string): void {
  for (let attempt = 1; ; attempt++) {
    try {
      rmSync(to, { recursive: true, force: true });
      cpSync(from, to, { recursive: true });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw err;
    }
  }
}

/**
 * A running Redis (an operator's, reached by URL): rewrites its AOF, reads where it keeps it
 * (CONFIG GET, or `redisDir` where its files are seen elsewhere, as from outside a container),
 * and copies the folder into `scratch`.
 */
/** One connection attempt, no retries: to one server, or to the primary the sentinels name. */
export function connectOnce(url: string): Redis {
  const [first, rest] = redisArgs(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    sentinelRetryStrategy: () => null,
  });
  return typeof first === 'string' ? new Redis(first, rest ?? {}) : new Redis(first);
}

export async function copyLiveAof(
  url: string,
  redisDir: string | undefined,
  scratch: string,
): Promise<AofLayout> {
  const client = connectOnce(url);
  client.on('error', () => {});
  try {
    try {
      await client.connect();
    } catch (err) {
      throw new BackupRefused(`cannot reach Redis at the given URL: ${(err as Error).message}`);
    }
    const config = async (name: string): Promise<string | undefined> => {
      try {
        const pair = (await client.config('GET', name)) as string[];
        return pair[1];
      } catch (err) {
        if (/NOPERM/.test((err as Error).message)) {
          throw new BackupRefused(
            'the Redis login may not run CONFIG GET: give one that may (KEEL_BACKUP_REDIS_URL; it needs BGREWRITEAOF, INFO and CONFIG GET)',
          );
        }
        throw err;
      }
    };
    if ((await config('appendonly')) !== 'yes') {
      throw new BackupRefused(
        'Redis does not keep an append-only file (appendonly no): turn it on (Keel needs it)',
      );
    }
    const layout = {
      appendDirname: (await config('appenddirname')) ?? '',
      appendFilename: (await config('appendfilename')) ?? DEFAULT_APPEND_FILENAME,
    };
    if (!layout.appendDirname)
      throw new BackupRefused(
        'this Redis keeps one AOF file (before Redis 7): Keel backs up Redis 7 or newer',
      );
    const dir = redisDir ?? (await config('dir'));
    if (!dir) throw new BackupRefused('Redis did not say where its files are: set KEEL_REDIS_DIR');
    await rewriteAof(client);
    const source = join(dir, layout.appendDirname);
    if (!existsSync(source)) {
      throw new BackupRefused(
        `Redis keeps its AOF in ${source}, which is not visible here: run the backup on Redis' host, or set KEEL_REDIS_DIR to where that folder is seen`,
      );
    }
    copyAofFolder(source, join(scratch, layout.appendDirname));
    return layout;
  } finally {
    client.disconnect();
  }
}

/** A stopped Redis' AOF folder (scripts/up's, under the data folder), copied into `scratch`. */
export function copyStoppedAof(redisDir: string, scratch: string): AofLayout {
  const layout = { appendDirname: DEFAULT_APPEND_DIRNAME, appendFilename: DEFAULT_APPEND_FILENAME };
  const source = join(redisDir, layout.appendDirname);
  if (!existsSync(source)) {
    // A Redis that never ran, or was never asked to keep anything: an empty one.
    mkdirSync(join(scratch, layout.appendDirname), { recursive: true });
    return layout;
  }
  copyAofFolder(source, join(scratch, layout.appendDirname));
  return layout;
}

/** The files of the AOF folder after a rewrite, by name. */
export function aofFiles(scratch: string, layout: AofLayout): string[] {
  return readdirSync(join(scratch, layout.appendDirname)).sort();
}
