/**
 * `scripts/backup` and `scripts/restore`: the control plane's state (the database and Redis'
 * append-only file) into one backup folder and back. The procedure, for operators:
 * docs/BACKUPS.md.
 *
 * Where the state is, as scripts/up and the edge read it: DATABASE_URL (PostgreSQL) or the
 * embedded PGlite under $KEEL_DATA_DIR/pglite; REDIS_URL (an operator's Redis) or scripts/up's
 * redis-server, whose files are under $KEEL_DATA_DIR/redis.
 *
 * The backup holds sealed values only: KEEL_SECRET_KEY is never copied into it, and a restore
 * needs the same secret (it refuses, changing nothing, under another).
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { isSentinelUrl } from '../../edge/contract/src/redis-url.ts';
import type { SecretKeyring } from '../../edge/src/auth/secret-keys.ts';
import { ConfigError, parseSecretKeys } from '../../edge/src/env.ts';
import type { Database } from '../../edge/src/services/database.ts';
import type { Query } from './backup-database.ts';
import {
  BackupRefused,
  describePart,
  FORMAT,
  knownMigrations,
  MANIFEST_FILE,
  type Manifest,
  type Migrations,
  readCheckedManifest,
} from './backup-manifest.ts';
import { describeHolders, holdersOf } from './backup-running.ts';

// The heavy parts load only when a step needs them: a refusal answers at once.
const databaseParts = () => import('./backup-database.ts');
const postgresParts = () => import('./backup-postgres.ts');
const pgliteParts = () => import('./backup-pglite.ts');
const redisParts = () => import('./backup-redis.ts');

const say = (line: string) => process.stderr.write(`keel ${line}\n`);

/** A path from the command line, from where the caller stood (the scripts cd to the checkout). */
const fromCaller = (path: string) => resolve(process.env.KEEL_CALLER_DIR ?? '.', path);

/** Where the state lives, from the same settings scripts/up and the edge read. */
interface Place {
  dataDir: string;
  databaseUrl: string | undefined;
  /** Set when Redis is the operator's (REDIS_URL); unset: scripts/up's, under the data folder. */
  redisUrl: string | undefined;
  /** The login a backup uses: it needs BGREWRITEAOF, INFO and CONFIG GET. */
  backupRedisUrl: string | undefined;
  /** Where an operator's Redis keeps its files, as seen from here. */
  redisDir: string | undefined;
}

function placeFrom(env: NodeJS.ProcessEnv): Place {
  const nonEmpty = (v: string | undefined) => (v && v.trim() !== '' ? v : undefined);
  const databaseUrl = nonEmpty(env.DATABASE_URL);
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new BackupRefused('DATABASE_URL must be a postgres:// URL');
  }
  const redisUrl = nonEmpty(env.REDIS_URL);
  return {
    dataDir: resolve(env.KEEL_DATA_DIR ?? '.keel'),
    databaseUrl,
    redisUrl,
    // Only for an operator's Redis: scripts/up's own is backed up stopped, from its files.
    backupRedisUrl: redisUrl
      ? (nonEmpty(env.KEEL_BACKUP_REDIS_URL) ?? nonEmpty(env.KEEL_REDIS_ADMIN_URL) ?? redisUrl)
      : undefined,
    redisDir: nonEmpty(env.KEEL_REDIS_DIR) ? resolve(env.KEEL_REDIS_DIR!) : undefined,
  };
}

function stampNow(): string {
  return new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

function keelCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

/** Refuses while scripts/up's processes use the data folder (the embedded parts need it quiet). */
function refuseWhileHeld(dataDir: string, what: string, override: string | undefined): void {
  const holders = holdersOf(dataDir);
  if (holders === undefined) {
    say(`cannot tell here whether scripts/up is running on ${dataDir} (no /proc): make sure it is stopped`);
    return;
  }
  if (holders.length === 0) return;
  throw new BackupRefused(
    `${what} needs scripts/up stopped, and these processes use ${dataDir}:\n${describeHolders(holders)}\n` +
      `Stop scripts/up (Ctrl-C) and run this again${override ? `, or add ${override} if you are sure` : ''}.`,
  );
}

async function postgresQuery(url: string): Promise<{ query: Query; close(): Promise<void> }> {
  const sql = (await postgresParts()).connect(url);
  return {
    query: async (text) => [...(await sql.unsafe(text))] as Record<string, unknown>[],
    close: () => sql.end({ timeout: 2 }),
  };
}

// ---------------------------------------------------------------------------------- backup

async function backup(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, 'without-redis': { type: 'boolean' } },
    allowPositionals: false,
  });
  const place = placeFrom(process.env);
  const withRedis = !values['without-redis'];
  const embeddedDb = !place.databaseUrl;
  const embeddedRedis = withRedis && !place.redisUrl;
  if (embeddedDb || embeddedRedis) {
    refuseWhileHeld(
      place.dataDir,
      `A backup of the embedded ${embeddedDb ? 'database' : 'Redis'} (${embeddedDb ? 'PGlite' : 'redis-server'} under the data folder)`,
      undefined,
    );
  }

  const out = values.out ? fromCaller(values.out) : join(place.dataDir, 'backups');
  mkdirSync(out, { recursive: true, mode: 0o700 });
  let stamp = stampNow();
  while (existsSync(join(out, `keel-backup-${stamp}`))) stamp = `${stampNow()}-${process.pid}`;
  const final = join(out, `keel-backup-${stamp}`);
  // Built under another name and renamed when whole: a folder named keel-backup-* is complete.
  const folder = join(out, `.keel-backup-${stamp}.partial`);
  mkdirSync(folder, { mode: 0o700 });
  try {
    const database = await backupDatabase(place, folder);
    const redis = withRedis ? await backupRedis(place, folder) : null;
    const partPaths = [
      database.part,
      ...(redis ? redis.parts : []),
      ...(redis?.aclPart ? [redis.aclPart] : []),
    ];
    const manifest: Manifest = {
      format: FORMAT,
      createdAt: new Date().toISOString(),
      keel: { commit: keelCommit(), node: process.version },
      database,
      redis,
      parts: await Promise.all(partPaths.map((p) => describePart(folder, p))),
    };
    writeFileSync(join(folder, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    renameSync(folder, final);
  } catch (err) {
    rmSync(folder, { recursive: true, force: true });
    throw err;
  }
  say(`backup written: ${final}`);
  say('it holds no KEEL_SECRET_KEY: keep that secret apart from it; a restore needs the same one');
  process.stdout.write(`${final}\n`);
}

async function backupDatabase(place: Place, folder: string): Promise<Manifest['database']> {
  if (place.databaseUrl) {
    const part = 'database.pgdump';
    const { query, close } = await postgresQuery(place.databaseUrl);
    try {
      const [version] = await query('show server_version');
      const before = await (await databaseParts()).sealedKeyIds(query);
      const migrations = await (await databaseParts()).migrationLevel(query);
      say(`dumping PostgreSQL (pg_dump -Fc), migration ${migrations.latest ?? migrations.applied}`);
      await (await postgresParts()).dumpPostgres(place.databaseUrl, join(folder, part));
      // Edges may seal meanwhile (a rotation): the ids before and after cover the dump's.
      const after = await (await databaseParts()).sealedKeyIds(query);
      return {
        kind: 'postgres',
        part,
        serverVersion: String(version?.server_version ?? '?'),
        toolVersion: await (await postgresParts()).toolVersion(
          (await postgresParts()).postgresTool('pg_dump'),
        ),
        migrations,
        sealedUnder: [...new Set([...before, ...after])].sort(),
      };
    } finally {
      await close();
    }
  }
  const dir = join(place.dataDir, 'pglite');
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    throw new BackupRefused(
      `there is no embedded database at ${dir} (is KEEL_DATA_DIR right? is DATABASE_URL unset?)`,
    );
  }
  const part = 'database.pglite.tar.gz';
  say(`dumping the embedded database (PGlite) from a copy of ${dir}`);
  const { serverVersion, inspected } = await (await pgliteParts()).dumpPglite(
    dir,
    join(folder, part),
    async (db) => ({
      migrations: await (await databaseParts()).migrationLevel(db.query),
      sealedUnder: await (await databaseParts()).sealedKeyIds(db.query),
    }),
  );
  return {
    kind: 'pglite',
    part,
    serverVersion,
    toolVersion: `@electric-sql/pglite ${(await pgliteParts()).pgliteVersion()}`,
    ...inspected,
  };
}

async function backupRedis(place: Place, folder: string): Promise<NonNullable<Manifest['redis']>> {
  const scratch = (await redisParts()).scratchFolder();
  try {
    const embeddedDir = join(place.dataDir, 'redis');
    const layout = place.backupRedisUrl
      ? await (await redisParts()).copyLiveAof(place.backupRedisUrl, place.redisDir, scratch)
      : (await redisParts()).copyStoppedAof(embeddedDir, scratch);
    say(`${place.backupRedisUrl ? 'Redis rewrote its append-only file; ' : ''}checking the copy loads`);
    const { version, keys } = await (await redisParts()).loadAndCompact(scratch, layout);
    mkdirSync(join(folder, 'redis'), { mode: 0o700 });
    const parts: string[] = [];
    for (const name of (await redisParts()).aofFiles(scratch, layout)) {
      copyFileSync(join(scratch, layout.appendDirname, name), join(folder, 'redis', name));
      parts.push(`redis/${name}`);
    }
    let aclPart: string | null = null;
    if (!place.redisUrl && existsSync(join(embeddedDir, 'users.acl'))) {
      // Password hashes only; the edge's password file (edge.password) stays behind.
      copyFileSync(join(embeddedDir, 'users.acl'), join(folder, 'redis', 'users.acl'));
      aclPart = 'redis/users.acl';
    }
    return { version, ...layout, parts, aclPart, keys };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

// --------------------------------------------------------------------------------- restore

/** The secrets given (KEEL_SECRET_KEY and the accepted ones), or the data folder's, as scripts/up reads it. */
function restoreKeyring(place: Place): SecretKeyring | undefined {
  const env: Record<string, string | undefined> = {
    KEEL_SECRET_KEY: process.env.KEEL_SECRET_KEY,
    KEEL_SECRET_KEY_PREVIOUS: process.env.KEEL_SECRET_KEY_PREVIOUS,
    KEEL_SECRET_KEY_NEXT: process.env.KEEL_SECRET_KEY_NEXT,
  };
  const keyFile = join(place.dataDir, 'secret.key');
  if (!env.KEEL_SECRET_KEY && existsSync(keyFile)) env.KEEL_SECRET_KEY = readFileSync(keyFile, 'utf8').trim();
  if (!env.KEEL_SECRET_KEY) return undefined;
  try {
    return parseSecretKeys(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new BackupRefused(err.message);
    throw err;
  }
}

async function checkKey(place: Place, manifest: Manifest): Promise<SecretKeyring | undefined> {
  const sealedUnder = manifest.database.sealedUnder;
  const keyring = restoreKeyring(place);
  const where = `set KEEL_SECRET_KEY${place.databaseUrl ? '' : `, or put it in ${join(place.dataDir, 'secret.key')} (mode 0600)`}`;
  if (!keyring) {
    if (sealedUnder.length === 0) return undefined;
    throw new BackupRefused(
      `no KEEL_SECRET_KEY: the backup's sealed values need the secret with key id ${sealedUnder.join(' or ')}, ` +
        `which is never in a backup. Find the secret kept with it and ${where}. Nothing was restored.`,
    );
  }
  const have = new Set(await keyring.keyIds());
  const missing = sealedUnder.filter((kid) => !have.has(kid));
  if (missing.length > 0) {
    throw new BackupRefused(
      `wrong KEEL_SECRET_KEY: the backup's values are sealed under key id ${missing.join(', ')}, the secret given has key id ${[...have].join(', ')}. ` +
        `Restore needs the secret the backup was made under (${where}; during a rotation, the older one in KEEL_SECRET_KEY_PREVIOUS). Nothing was restored.`,
    );
  }
  return keyring;
}

function checkMigrations(level: Migrations): void {
  if (level.latestWhen === null) return;
  if (!knownMigrations().some((m) => m.when === level.latestWhen)) {
    throw new BackupRefused(
      'the backup was made by a newer Keel (its database is at a migration this checkout does not know): restore it with that version, then upgrade',
    );
  }
}

/** Whether a Redis still answers at `url` (one server, or a primary the sentinels name). */
async function canReach(url: string): Promise<boolean> {
  if (isSentinelUrl(url)) {
    const client = (await redisParts()).connectOnce(url);
    client.on('error', () => {});
    try {
      await client.connect();
      return true;
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  }
  const u = new URL(url);
  return new Promise((done) => {
    const socket = tcpConnect({ host: u.hostname, port: Number(u.port || 6379) });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
  });
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(`${question} Type yes to go on: `)).trim() === 'yes';
  } finally {
    rl.close();
  }
}

async function restore(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      yes: { type: 'boolean' },
      'even-if-running': { type: 'boolean' },
      'without-redis': { type: 'boolean' },
    },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new BackupRefused('usage: scripts/restore BACKUP_FOLDER [--yes]');
  const folder = fromCaller(positionals[0]!);
  const place = placeFrom(process.env);

  // 1. The backup itself: every part whole, before anything else.
  say(`checking ${folder}`);
  const manifest = await readCheckedManifest(folder);
  checkMigrations(manifest.database.migrations);
  const kind = place.databaseUrl ? 'postgres' : 'pglite';
  if (manifest.database.kind !== kind) {
    throw new BackupRefused(
      manifest.database.kind === 'pglite'
        ? 'this backup is of the embedded database (PGlite): restore it with DATABASE_URL unset, into KEEL_DATA_DIR'
        : 'this backup is of a PostgreSQL database: set DATABASE_URL to the database to restore it into',
    );
  }
  // 2. The secret: the same one, or nothing happens.
  const keyring = await checkKey(place, manifest);
  const withRedis = !values['without-redis'] && manifest.redis !== null;
  const redisDir = place.redisUrl ? place.redisDir : join(place.dataDir, 'redis');
  if (withRedis && !redisDir) {
    throw new BackupRefused(
      'REDIS_URL names an operator\'s Redis: set KEEL_REDIS_DIR to the folder it keeps its files in (its "dir"), stopped, or add --without-redis',
    );
  }

  // 3. A stopped system.
  if (!values['even-if-running']) {
    if (!place.databaseUrl || (withRedis && !place.redisUrl)) {
      refuseWhileHeld(place.dataDir, 'A restore', '--even-if-running');
    }
    if (place.databaseUrl && (await (await postgresParts()).databaseExists(place.databaseUrl))) {
      const sessions = await (await postgresParts()).otherSessions(place.databaseUrl);
      if (sessions.length > 0) {
        throw new BackupRefused(
          `A restore needs the edges stopped, and ${sessions.length} session(s) use the database:\n` +
            `${sessions.map((s) => `  pid ${s.pid} ${s.application || '(no name)'} from ${s.client}`).join('\n')}\n` +
            'Stop every edge and runner (and anything else on it), or add --even-if-running if you are sure.',
        );
      }
    }
    if (withRedis && place.redisUrl) {
      const held = redisDir ? holdersOf(redisDir) : [];
      if (held && held.length > 0) {
        throw new BackupRefused(`Redis still runs on ${redisDir}:\n${describeHolders(held)}\nStop it first.`);
      }
      if (await canReach(place.redisUrl)) {
        throw new BackupRefused(
          'Redis at REDIS_URL still answers: stop it first (its AOF is replaced under it otherwise)',
        );
      }
    }
  }

  const created = manifest.createdAt;
  const target = place.databaseUrl
    ? `the database at DATABASE_URL`
    : `the embedded database in ${join(place.dataDir, 'pglite')}`;
  if (!values.yes) {
    const ok = await confirm(
      `This replaces ${target}${withRedis ? ` and Redis' data in ${redisDir}` : ''} with the backup of ${created}.`,
    );
    if (!ok) throw new BackupRefused('nothing restored: add --yes to restore without a question');
  }

  const stamp = stampNow();
  // 4. The database.
  if (place.databaseUrl) {
    await restoreIntoPostgres(place.databaseUrl, join(folder, manifest.database.part), manifest);
  } else {
    const dir = join(place.dataDir, 'pglite');
    say(`loading the embedded database into ${dir}`);
    const kept = await (await pgliteParts()).restorePglite(
      dir,
      join(folder, manifest.database.part),
      stamp,
      async (db) => {
        await expectLevel(db.query, manifest.database.migrations);
        if (keyring) await reportChains(db.db, keyring, manifest, true);
      },
    );
    if (kept) say(`the database it replaced is kept in ${kept}: delete it once the restore is confirmed`);
  }
  // 5. Redis.
  if (withRedis && manifest.redis && redisDir)
    await restoreRedis(folder, manifest.redis, redisDir, !place.redisUrl, stamp);

  if (!place.databaseUrl && keyring) keepSecretWithData(place.dataDir);
  say(`restored the backup of ${created}`);
  if (manifest.database.migrations.applied < knownMigrations().length) {
    say(
      'the backup is from an older Keel: scripts/up migrates the embedded database; for PostgreSQL run scripts/migrate',
    );
  }
}

/**
 * scripts/up reads the embedded install's secret from the data folder and makes a new one
 * when there is none, under which nothing restored would open: the secret given is put there.
 */
function keepSecretWithData(dataDir: string): void {
  const given = process.env.KEEL_SECRET_KEY?.trim();
  if (!given) return;
  const keyFile = join(dataDir, 'secret.key');
  if (!existsSync(keyFile)) {
    writeFileSync(keyFile, given, { mode: 0o600 });
    say(`KEEL_SECRET_KEY written to ${keyFile}, where scripts/up reads it`);
  } else if (readFileSync(keyFile, 'utf8').trim() !== given) {
    say(
      `${keyFile} holds another secret than KEEL_SECRET_KEY: scripts/up uses KEEL_SECRET_KEY when it is set, that file otherwise`,
    );
  }
}

async function expectLevel(query: Query, expected: Migrations): Promise<void> {
  const level = await (await databaseParts()).migrationLevel(query);
  if (level.applied !== expected.applied || level.latestWhen !== expected.latestWhen) {
    throw new BackupRefused(
      `the restored database is at migration ${level.latest ?? level.applied}, the manifest says ${expected.latest ?? expected.applied}: the backup is inconsistent`,
    );
  }
}

/** Verifies every audit chain with the edge's verifier; `refuse`: a broken one stops the restore. */
async function reportChains(
  db: Database,
  keyring: SecretKeyring,
  manifest: Manifest,
  refuse: boolean,
): Promise<void> {
  const parts = await databaseParts();
  const verdicts = await parts.verifyAllChains(db, keyring);
  const broken = verdicts.filter((v) => !v.verdict.ok);
  if (broken.length === 0 || !refuse) {
    await parts.recordRestore(db, keyring, {
      createdAt: manifest.createdAt,
      kind: manifest.database.kind,
      migration: manifest.database.migrations.latest,
    });
  }
  if (broken.length === 0) {
    say(
      `audit: ${verdicts.length} chain(s) verify (${verdicts.reduce((n, v) => n + v.verdict.checked, 0)} events); the restore is recorded as install.restored`,
    );
    return;
  }
  const what = broken.map((b) => `${b.chain} (first bad event ${b.verdict.firstBadSeq})`).join(', ');
  if (refuse) {
    throw new BackupRefused(
      `the backup's audit chains do not verify under this KEEL_SECRET_KEY: ${what}. Nothing was restored.`,
    );
  }
  throw new RestoredWithDoubts(
    `restored, but the audit chains do not verify: ${what}. Look at the backup's history before trusting it (docs/BACKUPS.md).`,
  );
}

/** The restore happened, but a check after it failed: exit 3, distinct from a refusal. */
class RestoredWithDoubts extends Error {
  override name = 'RestoredWithDoubts';
}

async function restoreIntoPostgres(url: string, file: string, manifest: Manifest): Promise<void> {
  if (!(await (await postgresParts()).databaseExists(url))) {
    say('the database does not exist: creating it');
    await (await postgresParts()).createDatabase(url);
  }
  const { query, close } = await postgresQuery(url);
  try {
    const current = await (await databaseParts()).migrationLevel(query);
    if (current.applied > manifest.database.migrations.applied) {
      throw new BackupRefused(
        `the database is at migration ${current.latest ?? current.applied}, newer than the backup's (${manifest.database.migrations.latest ?? manifest.database.migrations.applied}): ` +
          'restore into an empty database (createdb, then point DATABASE_URL at it), or drop this one first. Nothing was restored.',
      );
    }
    say('restoring PostgreSQL (pg_restore --clean --if-exists, one transaction)');
    await (await postgresParts()).restorePostgres(url, file);
    await expectLevel(query, manifest.database.migrations);
  } finally {
    await close();
  }
  const keyring = restoreKeyring(placeFrom(process.env));
  if (keyring) {
    const { connectPostgres } = await import('../../edge/src/services/database.ts');
    const handle = connectPostgres(url, { max: 1 });
    try {
      await reportChains(handle.db, keyring, manifest, false);
    } finally {
      await handle.close();
    }
  }
}

async function restoreRedis(
  folder: string,
  redis: NonNullable<Manifest['redis']>,
  redisDir: string,
  embedded: boolean,
  stamp: string,
): Promise<void> {
  const scratch = (await redisParts()).scratchFolder();
  try {
    const layout = { appendDirname: redis.appendDirname, appendFilename: redis.appendFilename };
    mkdirSync(join(scratch, layout.appendDirname));
    for (const part of redis.parts) {
      copyFileSync(join(folder, part), join(scratch, layout.appendDirname, basename(part)));
    }
    say("checking Redis' append-only file loads");
    const { keys } = await (await redisParts()).loadAndCompact(scratch, layout);
    if (keys !== redis.keys) {
      throw new BackupRefused(
        `Redis loaded ${keys} keys from the backup, the manifest says ${redis.keys}: inconsistent`,
      );
    }
    mkdirSync(redisDir, { recursive: true, mode: 0o700 });
    const target = join(redisDir, layout.appendDirname);
    const incoming = `${target}.restoring-${stamp}`;
    cpSync(join(scratch, layout.appendDirname), incoming, { recursive: true });
    if (existsSync(target)) {
      renameSync(target, `${target}.before-restore-${stamp}`);
      say(`Redis' files it replaced are kept in ${target}.before-restore-${stamp}`);
    }
    renameSync(incoming, target);
    if (embedded && redis.aclPart) {
      const acl = join(redisDir, 'users.acl');
      if (existsSync(acl)) renameSync(acl, `${acl}.before-restore-${stamp}`);
      copyFileSync(join(folder, redis.aclPart), acl);
    }
    if (layout.appendDirname !== (await redisParts()).DEFAULT_APPEND_DIRNAME || !embedded) {
      say(
        `start Redis with --dir ${redisDir} --appendonly yes --appenddirname ${layout.appendDirname} --appendfilename ${layout.appendFilename}`,
      );
    }
    say(`Redis: ${keys} keys restored`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------ main

const [command, ...rest] = process.argv.slice(2);
// What this writes (and the redis-server it starts writes) is the operator's alone.
process.umask(0o077);
try {
  if (command === 'backup') await backup(rest);
  else if (command === 'restore') await restore(rest);
  else throw new BackupRefused('usage: backup-cli.ts backup|restore ...');
  process.exit(0);
} catch (err) {
  if (err instanceof RestoredWithDoubts) {
    process.stderr.write(`keel ${command}: ${err.message}\n`);
    process.exit(3);
  }
  if (err instanceof BackupRefused) {
    process.stderr.write(`keel ${command ?? ''}: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`keel ${command}: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `keel ${command ?? ''} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
}
