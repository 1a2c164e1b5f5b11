/**
 * The Redis users of a Redis that Keel starts itself (scripts/up, the test harness): the
 * `default` user off, so nothing reaches Redis without a password, and the edge's own user
 * with a password made once per data folder. Runner users, which the edge adds at run time
 * (edge/src/runners/redis-acl.ts) and Redis saves in the same ACL file, are kept.
 *
 * Run as a script it prepares the folder given and prints `<user>:<password>` for a URL.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const EDGE_REDIS_USER = 'keel-edge';
export const EDGE_PASSWORD_FILE = 'edge.password';
export const ACL_FILE = 'users.acl';

/**
 * The edge's rights: every key and channel (it serves every organization and makes the
 * runners' keys), every command but those that rewrite or stop the server, wipe every key or
 * watch every client (CONFIG SET dir and SAVE write files where the server can; MODULE LOAD
 * runs code). It keeps ACL SETUSER/DELUSER/SAVE: it makes a user per runner.
 */
export function edgeRedisRules(passwordSha256: string): string[] {
  return [
    'reset',
    'on',
    `#${passwordSha256}`,
    '~*',
    '&*',
    '+@all',
    '-config',
    '-module',
    '-debug',
    '-shutdown',
    '-flushall',
    '-flushdb',
    '-swapdb',
    '-monitor',
    '-replicaof',
    '-slaveof',
    '-failover',
    '-sync',
    '-psync',
    '-save',
    '-bgsave',
    '-bgrewriteaof',
  ];
}

/**
 * `default` may not log in: its only password is 32 random bytes that are hashed here and never
 * kept, so a client without a login is refused (NOAUTH) and none can log in as it. It is not
 * turned `off`, nor stripped of rights: Redis replays its append-only file as `default` and
 * re-checks that user's rights at each EXEC (redis/redis#14541, in Debian's 7.0), so a disabled
 * `default` silently drops every transaction on restart, and with them every queued BullMQ job.
 */
function lockedDefaultRules(): string[] {
  const unknowable = createHash('sha256').update(randomBytes(32)).digest('hex');
  return ['on', 'resetpass', `#${unknowable}`, '~*', '&*', '+@all'];
}

/**
 * Makes (or reuses) the edge's password, 0600 in `dir`, and writes the ACL file Redis is to
 * start with (`--aclfile <dir>/users.acl`): `default` off, the edge's user, and every other
 * user the file already held. Returns what a URL needs.
 */
export function prepareRedisUsers(dir: string): { username: string; password: string; aclFile: string } {
  mkdirSync(dir, { recursive: true });
  const passwordFile = join(dir, EDGE_PASSWORD_FILE);
  if (!existsSync(passwordFile) || readFileSync(passwordFile, 'utf8').trim() === '') {
    // base64url: goes into a URL as it is.
    writeFileSync(passwordFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
  }
  chmodSync(passwordFile, 0o600);
  const password = readFileSync(passwordFile, 'utf8').trim();

  const aclFile = join(dir, ACL_FILE);
  const kept = existsSync(aclFile)
    ? readFileSync(aclFile, 'utf8')
        .split('\n')
        .filter((line) => {
          const name = /^user\s+(\S+)/.exec(line)?.[1];
          return name !== undefined && name !== 'default' && name !== EDGE_REDIS_USER;
        })
    : [];
  const sha = createHash('sha256').update(password).digest('hex');
  const lines = [
    `user default ${lockedDefaultRules().join(' ')}`,
    `user ${EDGE_REDIS_USER} ${edgeRedisRules(sha).join(' ')}`,
    ...kept,
  ];
  // Written whole and renamed: Redis never reads half a file.
  const tmp = `${aclFile}.tmp`;
  writeFileSync(tmp, `${lines.join('\n')}\n`, { mode: 0o600 });
  renameSync(tmp, aclFile);
  chmodSync(aclFile, 0o600);
  return { username: EDGE_REDIS_USER, password, aclFile };
}

/** `redis://user:password@host:port`: what every Redis client Keel has takes its login from. */
export function redisUrlWithUser(host: string, port: number, user: { username: string; password: string }) {
  return `redis://${encodeURIComponent(user.username)}:${encodeURIComponent(user.password)}@${host}:${port}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: redis-users.ts <redis data folder>');
    process.exit(2);
  }
  const user = prepareRedisUsers(dir);
  process.stdout.write(`${user.username}:${user.password}`);
}
