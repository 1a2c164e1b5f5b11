/**
 * `scripts/backup` and `scripts/restore` against real parts: a real PostgreSQL (with pg_dump
 * and pg_restore) and an operator's Redis reached by URL; the embedded PGlite and the Redis
 * scripts/up keeps under the data folder. Each time: an account, its organization, a
 * workspace, a server record and audit entries are made through the edge's own code; a Redis
 * key is written; a backup is taken; everything is destroyed (the database dropped, the data
 * folder wiped, Redis' files removed); the restore brings it back: the account signs in, the
 * workspace and the server are there, the audit chains verify with the edge's verifier, and
 * the Redis key is back. A damaged backup, or the wrong secret, is refused before anything is
 * touched.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { redisArgs } from '@keel/contract/redis-url';
import { auditEvents, servers, workspaces } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { createApp } from '../../edge/src/app.ts';
import { chainOf, INSTALL_CHAIN, verifyAuditChain } from '../../edge/src/audit/audit-log.ts';
import { newKeyCache } from '../../edge/src/auth/signing-keys.ts';
import { parseEdgeEnv } from '../../edge/src/env.ts';
import { newId } from '../../edge/src/ids.ts';
import { systemClock } from '../../edge/src/services/clock.ts';
import { connectPostgres, type DatabaseHandle } from '../../edge/src/services/database.ts';
import { openPglite } from '../../edge/src/services/database-pglite.ts';
import { buildServices } from '../../edge/src/services.ts';
import { BackupRefused, readCheckedManifest } from '../../scripts/lib/backup-manifest.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { freshDatabaseUrl } from '../harness/migrated-postgres.ts';
import { startSentinelRedis } from '../harness/redis-sentinel.ts';
import { type RedisServer, startRedisServer } from '../harness/redis-server.ts';
import { testSecretKey } from '../harness/test-app.ts';

const root = new URL('../..', import.meta.url).pathname;
const PASSWORD = 'correct horse battery staple';
const CREDENTIAL = '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n';
const PREFIX = 'keel:';
const PROBE = `${PREFIX}backup-test:probe`;

interface Edge {
  services: ReturnType<typeof buildServices>['services'];
  client(): BrowserClient;
  close(): Promise<void>;
}

/** The edge's app in this process, on the given database and Redis, sealing with `secret`. */
function startEdge(database: DatabaseHandle, redisUrl: string, secret: string, databaseUrl?: string): Edge {
  const config = parseEdgeEnv({
    REDIS_URL: redisUrl,
    KEEL_SECRET_KEY: secret,
    KEEL_REDIS_PREFIX: PREFIX,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
  const handle = buildServices({
    config,
    db: database.db,
    closeDb: database.close,
    clock: systemClock,
    keyCache: newKeyCache(),
  });
  const ip = `10.${randomBytes(3).join('.')}`;
  const app = createApp({
    provideServices: async (c, next) => {
      c.set('services', handle.services);
      await next();
    },
    clientIp: () => ip,
  });
  const http = (path: string, init?: RequestInit) =>
    Promise.resolve(app.request(new URL(path, 'http://keel.test').toString(), init));
  return { services: handle.services, client: () => new BrowserClient(http), close: () => handle.close() };
}

interface Made {
  email: string;
  organizationId: string;
  workspaceId: string;
  serverId: string;
}

/** An account and its organization, a workspace, a server record and audit entries, as a person makes them. */
async function populate(edge: Edge, tag: string): Promise<Made> {
  const email = `backup-${tag}@example.com`;
  const founder = edge.client();
  const signup = await founder.request('POST', '/api/auth/signup', {
    email,
    password: PASSWORD,
    name: 'Keeper',
    organization: `Backups ${tag}`,
  });
  assert.equal(signup.status, 201, JSON.stringify(signup.body));
  const organizationId = signup.body.organization.id as string;
  const client = await signIn(edge, email);
  // A refused sign-in is audited too.
  const refused = await edge
    .client()
    .request('POST', '/api/auth/login', { email, password: 'wrong wrong wrong' });
  assert.equal(refused.status, 401);
  const me = await client.request('GET', '/api/auth/me', undefined, { bearer: true });
  // With no runner the API refuses to create one (503): the row is written as a runner's
  // report would leave it, stopped.
  const workspaceId = newId('workspace');
  await edge.services.db.insert(workspaces).values({
    id: workspaceId,
    organizationId,
    ownerId: me.body.user.id,
    name: `ws-${tag}`,
    source: { type: 'empty' },
    resources: { cpus: 1, memoryMb: 512 },
    driver: 'process',
    status: 'stopped',
  });
  const serverId = `srv_backup${tag}${'x'.repeat(16 - tag.length)}`;
  await edge.services.db.insert(servers).values({
    id: serverId,
    organizationId,
    name: `build-host-${tag}`,
    kind: 'ssh',
    labels: { region: 'eu' },
    capacity: { workspaces: 4 },
    storage: { kind: 'volumes' },
    endpoint: { host: '198.51.100.7', port: 22, user: 'keel' },
    credentialSealed: await edge.services.box.seal(CREDENTIAL, `server-credential:${serverId}`),
    credentialFingerprint: `SHA256:${tag}`,
  });
  await assertChainsSound(edge, organizationId);
  return { email, organizationId, workspaceId, serverId };
}

async function signIn(edge: Edge, email: string): Promise<BrowserClient> {
  const client = edge.client();
  const login = await client.request('POST', '/api/auth/login', { email, password: PASSWORD });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  const me = await client.request('GET', '/api/auth/me', undefined, { bearer: true });
  assert.equal(me.status, 200, JSON.stringify(me.body));
  return client;
}

async function assertChainsSound(edge: Edge, organizationId: string): Promise<void> {
  for (const chain of [chainOf(organizationId), INSTALL_CHAIN]) {
    const verdict = await verifyAuditChain(edge.services, chain);
    assert.equal(verdict.ok, true, `${chain}: ${JSON.stringify(verdict)}`);
    assert.ok(verdict.checked > 0, chain);
  }
}

/** What a restore must bring back, checked through the edge. */
async function assertRestored(edge: Edge, made: Made): Promise<void> {
  await assertChainsSound(edge, made.organizationId);
  const recorded = await edge.services.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.chain, INSTALL_CHAIN), eq(auditEvents.action, 'install.restored')));
  assert.equal(recorded.length, 1, 'the restore is on the install chain');
  const client = await signIn(edge, made.email);
  const list = await client.request('GET', '/api/workspaces', undefined, { bearer: true });
  assert.equal(list.status, 200, JSON.stringify(list.body));
  const listed = list.body.workspaces as { id: string }[];
  assert.ok(
    listed.some((w) => w.id === made.workspaceId),
    JSON.stringify(list.body),
  );
  const [server] = await edge.services.db.select().from(servers).where(eq(servers.id, made.serverId));
  assert.ok(server, 'the server record is back');
  assert.equal(
    await edge.services.box.open(server.credentialSealed, `server-credential:${made.serverId}`),
    CREDENTIAL,
  );
  const verify = await client.request('GET', '/api/admin/audit/verify', undefined, { bearer: true });
  assert.equal(verify.status, 200, JSON.stringify(verify.body));
  assert.equal(verify.body.ok, true, JSON.stringify(verify.body));
}

function script(
  name: 'backup' | 'restore',
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const full: NodeJS.ProcessEnv = { ...process.env };
  for (const k of [
    'DATABASE_URL',
    'REDIS_URL',
    'KEEL_SECRET_KEY',
    'KEEL_SECRET_KEY_PREVIOUS',
    'KEEL_SECRET_KEY_NEXT',
    'KEEL_REDIS_DIR',
    'KEEL_BACKUP_REDIS_URL',
    'KEEL_REDIS_ADMIN_URL',
  ]) {
    delete full[k];
  }
  for (const [k, v] of Object.entries(env)) if (v !== undefined) full[k] = v;
  return new Promise((resolve) => {
    execFile(`scripts/${name}`, args, { cwd: root, env: full, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function redisGet(url: string, key: string): Promise<string | null> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return await r.get(key);
  } finally {
    r.disconnect();
  }
}

async function redisSet(url: string, key: string, value: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    await r.set(key, value);
  } finally {
    r.disconnect();
  }
}

/** Every file under `dir` with its size and time, to show a refused restore touched none. */
function fingerprint(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => join(e.parentPath, e.name))
    .sort()
    .map((p) => {
      const s = statSync(p);
      return `${p} ${s.isDirectory() ? 'dir' : s.size} ${s.mtimeMs}`;
    });
}

describe('scripts/backup and scripts/restore', () => {
  const work = mkdtempSync(join(tmpdir(), 'keel-backup-test-'));
  const started: RedisServer[] = [];
  const edges: Edge[] = [];
  const startRedis = async (dir: string, operator = false) => {
    const redis = await startRedisServer({ appendOnly: true, dir, operator });
    started.push(redis);
    return redis;
  };
  const stopRedis = async (redis: RedisServer) => {
    started.splice(started.indexOf(redis), 1);
    await redis.stop();
  };
  const openEdge = (...args: Parameters<typeof startEdge>) => {
    const edge = startEdge(...args);
    edges.push(edge);
    return edge;
  };
  const closeEdge = async (edge: Edge) => {
    edges.splice(edges.indexOf(edge), 1);
    await edge.close();
  };

  // Shared by the PostgreSQL test and the refusals that follow it.
  const secret = testSecretKey();
  let databaseUrl: string;
  let pgBackup: string;
  let pgRedisDir: string;
  let pgRedis: RedisServer;
  let pgEdge: Edge;
  let made: Made;

  before(async () => {
    databaseUrl = await freshDatabaseUrl();
  });
  after(async () => {
    for (const edge of edges) await edge.close().catch(() => {});
    for (const redis of started) await redis.stop().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  });

  test("PostgreSQL and an operator's Redis: back up, drop the database and Redis' files, restore", async () => {
    pgRedisDir = join(work, 'pg-redis');
    let redis = await startRedis(pgRedisDir, true);
    let edge = openEdge(connectPostgres(databaseUrl, { max: 3 }), redis.url, secret, databaseUrl);
    made = await populate(edge, 'pg');
    await redisSet(redis.url, PROBE, 'before the backup');

    // While the edge runs: pg_dump takes a consistent snapshot, Redis rewrites its AOF.
    const backup = await script('backup', ['--out', join(work, 'backups')], {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      KEEL_BACKUP_REDIS_URL: redis.operatorUrl,
      KEEL_DATA_DIR: join(work, 'unused-data'),
    });
    assert.equal(backup.code, 0, backup.stderr);
    pgBackup = backup.stdout.trim().split('\n').at(-1)!;
    const manifest = JSON.parse(readFileSync(join(pgBackup, 'manifest.json'), 'utf8'));
    assert.equal(manifest.database.kind, 'postgres');
    assert.match(manifest.database.toolVersion, /pg_dump/);
    assert.ok(manifest.database.migrations.applied > 0);
    assert.ok(manifest.database.migrations.latest);
    assert.equal(manifest.database.sealedUnder.length, 1, 'one secret sealed it all');
    assert.ok(manifest.redis.keys > 0);
    const all = readdirSync(pgBackup, { recursive: true }).join('\n');
    // A plain substring test: the secret is base64, whose + and / a regular expression would read.
    assert.equal(readFileSync(join(pgBackup, 'manifest.json'), 'utf8').includes(secret.slice(0, 16)), false);
    assert.doesNotMatch(all, /secret\.key|edge\.password/);

    // Written after the backup: not there once it is restored.
    await redisSet(redis.url, `${PREFIX}backup-test:later`, 'after the backup');

    // A restore refuses while an edge holds the database.
    const busy = await script('restore', [pgBackup, '--yes'], {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      KEEL_REDIS_DIR: pgRedisDir,
      KEEL_SECRET_KEY: secret,
    });
    assert.equal(busy.code, 2, busy.stderr);
    assert.match(busy.stderr, /edges stopped|session\(s\) use the database/);

    // Destroyed: the edge stopped, the database dropped, Redis stopped and its files gone.
    await closeEdge(edge);
    const maintenance = new URL(databaseUrl);
    const dbName = maintenance.pathname.slice(1);
    maintenance.pathname = '/postgres';
    const admin = postgres(maintenance.toString(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database "${dbName}" with (force)`);
    await admin.end();
    await stopRedis(redis);
    rmSync(join(pgRedisDir, 'appendonlydir'), { recursive: true, force: true });

    const restored = await script('restore', [pgBackup, '--yes'], {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      KEEL_REDIS_DIR: pgRedisDir,
      KEEL_SECRET_KEY: secret,
    });
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stderr, /creating it/);
    assert.match(restored.stderr, /chain\(s\) verify/);

    redis = await startRedis(pgRedisDir, true);
    edge = openEdge(connectPostgres(databaseUrl, { max: 3 }), redis.url, secret, databaseUrl);
    await assertRestored(edge, made);
    assert.equal(await redisGet(redis.url, PROBE), 'before the backup');
    assert.equal(await redisGet(redis.url, `${PREFIX}backup-test:later`), null);
    pgRedis = redis;
    pgEdge = edge;
  });

  test('a Redis Sentinel URL: the backup finds the primary through the sentinels', async () => {
    const sentinel = await startSentinelRedis();
    try {
      const [first, options] = redisArgs(sentinel.url, { maxRetriesPerRequest: 1 });
      const client = typeof first === 'string' ? new Redis(first, options ?? {}) : new Redis(first);
      await client.set(PROBE, 'through the sentinels');
      client.disconnect();
      const backup = await script('backup', ['--out', join(work, 'sentinel-backups')], {
        DATABASE_URL: databaseUrl,
        REDIS_URL: sentinel.url,
        KEEL_BACKUP_REDIS_URL: sentinel.operatorUrl,
        KEEL_DATA_DIR: join(work, 'unused-data'),
      });
      assert.equal(backup.code, 0, backup.stderr);
      const folder = backup.stdout.trim().split('\n').at(-1)!;
      const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
      assert.ok(manifest.redis.keys >= 1, "the primary's keys are in the backup");
    } finally {
      await sentinel.stop();
    }
  });

  test('a damaged backup, a missing or a wrong secret: refused before anything is touched', async () => {
    assert.ok(pgBackup, 'the PostgreSQL test made a backup');
    // A mark made after the restore: still there after every refusal.
    await pgEdge.services.db
      .update(workspaces)
      .set({ name: 'marked after the restore' })
      .where(eq(workspaces.id, made.workspaceId));
    await closeEdge(pgEdge);
    await stopRedis(pgRedis);
    const redisFiles = fingerprint(pgRedisDir);
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: pgRedis.url,
      KEEL_REDIS_DIR: pgRedisDir,
      KEEL_SECRET_KEY: secret,
    };
    const tampered = (name: string, change: (folder: string) => void) => {
      const folder = join(work, `tampered-${name}`);
      cpSync(pgBackup, folder, { recursive: true });
      change(folder);
      return folder;
    };

    const flipped = tampered('byte', (f) => {
      const file = join(f, 'database.pgdump');
      const bytes = readFileSync(file);
      const at = Math.floor(bytes.length / 2);
      bytes[at] = bytes[at]! ^ 0xff;
      writeFileSync(file, bytes);
    });
    // Through the script: a damaged part, no secret, another secret.
    const refusals: [string, Record<string, string | undefined>, RegExp][] = [
      [flipped, env, /damaged.*database\.pgdump's SHA-256 differs/],
      [pgBackup, { ...env, KEEL_SECRET_KEY: undefined }, /no KEEL_SECRET_KEY.*key id/],
      [pgBackup, { ...env, KEEL_SECRET_KEY: testSecretKey() }, /wrong KEEL_SECRET_KEY.*sealed under key id/],
    ];
    for (const [folder, e, message] of refusals) {
      const r = await script('restore', [folder, '--yes'], e);
      assert.equal(r.code, 2, `${folder}: ${r.stderr}`);
      assert.match(r.stderr.replace(/\n/g, ' '), message);
    }
    // The same check, in this process (each script run costs seconds): other damage.
    const damaged: [string, RegExp][] = [
      [
        tampered('aof', (f) => {
          const aof = readdirSync(join(f, 'redis')).find((n) => n.endsWith('.base.rdb'))!;
          writeFileSync(join(f, 'redis', aof), 'REDIS0011 not what it was');
        }),
        /damaged.*redis\/.*\.base\.rdb has \d+ bytes/,
      ],
      [
        tampered('extra', (f) => writeFileSync(join(f, 'evil.sql'), 'drop table users;')),
        /does not name \(evil\.sql\)/,
      ],
      [tampered('manifest', (f) => writeFileSync(join(f, 'manifest.json'), '{"format":')), /not JSON/],
      [
        tampered('escape', (f) => {
          const m = JSON.parse(readFileSync(join(f, 'manifest.json'), 'utf8'));
          m.database.part = '../../etc/passwd';
          writeFileSync(join(f, 'manifest.json'), JSON.stringify(m));
        }),
        /not a keel-backup\/1 manifest \(database\.part/,
      ],
      [
        tampered('dotdot', (f) => {
          const m = JSON.parse(readFileSync(join(f, 'manifest.json'), 'utf8'));
          m.redis.appendDirname = '..';
          writeFileSync(join(f, 'manifest.json'), JSON.stringify(m));
        }),
        /redis\.appendDirname: a plain file name/,
      ],
      [
        tampered('link', (f) => {
          rmSync(join(f, 'database.pgdump'));
          symlinkSync('/etc/passwd', join(f, 'database.pgdump'));
        }),
        /links or special files \(database\.pgdump\)/,
      ],
      [join(work, 'nowhere'), /not a backup folder/],
    ];
    for (const [folder, message] of damaged) {
      await assert.rejects(readCheckedManifest(folder), (err: Error) => {
        assert.ok(err instanceof BackupRefused, String(err));
        assert.match(err.message, message);
        return true;
      });
    }

    assert.deepEqual(fingerprint(pgRedisDir), redisFiles, "Redis' files untouched");
    const check = connectPostgres(databaseUrl, { max: 1 });
    try {
      const [row] = await check.db.select().from(workspaces).where(eq(workspaces.id, made.workspaceId));
      assert.equal(row?.name, 'marked after the restore', 'the database untouched');
    } finally {
      await check.close();
    }
  });

  test("the embedded PGlite and scripts/up's Redis: back up, wipe the data folder, restore", async () => {
    const dataDir = join(work, 'data');
    const embeddedSecret = testSecretKey();
    let redis = await startRedis(join(dataDir, 'redis'));
    let edge = openEdge(await openPglite(join(dataDir, 'pglite')), redis.url, embeddedSecret);
    const made = await populate(edge, 'lite');
    await redisSet(redis.url, PROBE, 'embedded, before the backup');
    const env = { KEEL_DATA_DIR: dataDir };

    // The embedded database is backed up only when no process holds it.
    const held = await script('backup', [], env);
    assert.equal(held.code, 2, held.stderr);
    assert.match(held.stderr, /needs scripts\/up stopped/);

    await closeEdge(edge);
    await stopRedis(redis);
    const backup = await script('backup', [], env);
    assert.equal(backup.code, 0, backup.stderr);
    const folder = backup.stdout.trim().split('\n').at(-1)!;
    assert.ok(folder.startsWith(join(dataDir, 'backups', 'keel-backup-')), folder);
    const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
    assert.equal(manifest.database.kind, 'pglite');
    assert.equal(manifest.redis.aclPart, 'redis/users.acl');
    assert.equal((statSync(folder).mode & 0o077).toString(8), '0', "the backup is the owner's alone");

    // Wiped: nothing of the data folder is left but the backup, moved away, and the secret kept apart.
    const kept = join(work, 'kept-backup');
    cpSync(folder, kept, { recursive: true });
    rmSync(dataDir, { recursive: true, force: true });

    const restored = await script('restore', [kept, '--yes'], { ...env, KEEL_SECRET_KEY: embeddedSecret });
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stderr, /chain\(s\) verify/);
    assert.equal(
      readFileSync(join(dataDir, 'secret.key'), 'utf8'),
      embeddedSecret,
      'put where scripts/up reads it',
    );
    assert.ok(!existsSync(join(dataDir, 'redis', 'edge.password')), 'no password came from the backup');

    redis = await startRedis(join(dataDir, 'redis'));
    edge = openEdge(await openPglite(join(dataDir, 'pglite')), redis.url, embeddedSecret);
    await assertRestored(edge, made);
    assert.equal(await redisGet(redis.url, PROBE), 'embedded, before the backup');
  });
});
