/**
 * Rotating KEEL_SECRET_KEY on a real PostgreSQL database, as docs/CONFIGURATION.md tells an
 * operator to: an edge with secret A writes sealed values; an edge sealing with B that still
 * accepts A keeps signing in and verifying the audit chain; `scripts/rotate-secret` re-seals
 * everything under B; an edge with B alone then works, and the server credential opens.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { auditHeads, organizations, servers, signingKeys } from '@keel/drizzle/schema';
import { eq, inArray } from 'drizzle-orm';
import { createApp } from '../../edge/src/app.ts';
import { INSTALL_CHAIN, verifyAuditChain } from '../../edge/src/audit/audit-log.ts';
import { AuditHeadSeal } from '../../edge/src/audit/head-seal.ts';
import { SecretBox } from '../../edge/src/auth/secret-box.ts';
import { keyIdOf } from '../../edge/src/auth/secret-keys.ts';
import { newKeyCache } from '../../edge/src/auth/signing-keys.ts';
import { parseEdgeEnv } from '../../edge/src/env.ts';
import { systemClock } from '../../edge/src/services/clock.ts';
import { connectPostgres, type DatabaseHandle } from '../../edge/src/services/database.ts';
import { buildServices } from '../../edge/src/services.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { testInfra } from '../harness/infra.ts';
import { freshDatabaseUrl } from '../harness/migrated-postgres.ts';
import { testSecretKey } from '../harness/test-app.ts';

const root = new URL('../..', import.meta.url).pathname;
const PASSWORD = 'correct horse battery staple';
const EMAIL = 'rotator@example.com';
const SERVER_ID = 'srv_rotationrotationrotat';
const CREDENTIAL = '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n';
const purpose = (id: string) => `server-credential:${id}`;
const kidOf = (secret: string) => keyIdOf(new Uint8Array(Buffer.from(secret, 'base64')));

/** An edge on the shared database, configured by `secrets`; restarted by closing it and starting another. */
async function startEdge(databaseUrl: string, redisPrefix: string, secrets: Record<string, string>) {
  const infra = await testInfra();
  const config = parseEdgeEnv({
    REDIS_URL: infra.redisUrl,
    DATABASE_URL: databaseUrl,
    KEEL_REDIS_PREFIX: redisPrefix,
    ...secrets,
  });
  const database = connectPostgres(databaseUrl, { max: 5 });
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
type Edge = Awaited<ReturnType<typeof startEdge>>;

async function signIn(edge: Edge): Promise<BrowserClient> {
  const client = edge.client();
  const login = await client.request('POST', '/api/auth/login', { email: EMAIL, password: PASSWORD });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  const me = await client.request('GET', '/api/auth/me', undefined, { bearer: true });
  assert.equal(me.status, 200, JSON.stringify(me.body));
  return client;
}

async function assertAuditSound(client: BrowserClient): Promise<void> {
  for (const path of ['/api/admin/audit/verify', '/api/install/audit/verify']) {
    const verify = await client.request('GET', path, undefined, { bearer: true });
    assert.equal(verify.status, 200, `${path}: ${JSON.stringify(verify.body)}`);
    assert.equal(verify.body.ok, true, `${path}: ${JSON.stringify(verify.body)}`);
    assert.ok(verify.body.checked > 0, path);
  }
}

function rotate(
  databaseUrl: string,
  secrets: Record<string, string>,
  args: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl, ...secrets };
  for (const name of ['KEEL_SECRET_KEY', 'KEEL_SECRET_KEY_PREVIOUS', 'KEEL_SECRET_KEY_NEXT']) {
    if (!(name in secrets)) delete env[name];
  }
  return new Promise((resolve) => {
    execFile('scripts/rotate-secret', args, { cwd: root, env, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every sealed value in the database, by where it lives. */
async function sealedValues(db: DatabaseHandle['db']) {
  const keys = await db.select().from(signingKeys).orderBy(signingKeys.kid);
  const creds = await db.select().from(servers).orderBy(servers.id);
  const heads = await db.select().from(auditHeads).orderBy(auditHeads.chain);
  return {
    signingKeys: keys.map((k) => ({
      id: k.kid,
      value: k.privateJwkEncrypted,
      kid: SecretBox.keyIdOf(k.privateJwkEncrypted),
    })),
    servers: creds.map((s) => ({
      id: s.id,
      value: s.credentialSealed,
      kid: SecretBox.keyIdOf(s.credentialSealed),
    })),
    auditHeads: heads.map((h) => ({ id: h.chain, value: h.mac, kid: AuditHeadSeal.keyIdOf(h.mac) })),
  };
}

describe('rotating KEEL_SECRET_KEY', () => {
  const A = testSecretKey();
  const B = testSecretKey();
  const prefix = `rot${randomBytes(4).toString('hex')}:`;
  let databaseUrl: string;
  let inspect: DatabaseHandle;
  const open: Edge[] = [];
  const start = async (secrets: Record<string, string>) => {
    const edge = await startEdge(databaseUrl, prefix, secrets);
    open.push(edge);
    return edge;
  };
  const stop = async (edge: Edge) => {
    open.splice(open.indexOf(edge), 1);
    await edge.close();
  };

  before(async () => {
    databaseUrl = await freshDatabaseUrl();
    inspect = connectPostgres(databaseUrl, { max: 2 });
  });
  after(async () => {
    for (const edge of open) await edge.close();
    await inspect.close();
  });

  test('A, then B accepting A, then rotate-secret, then B alone: sign-in, the audit chains and the server credential hold', async () => {
    const [kidA, kidB] = [await kidOf(A), await kidOf(B)];

    // Secret A: an organization, audit events in its chain and the install's, a sealed credential.
    const edgeA = await start({ KEEL_SECRET_KEY: A });
    const founder = edgeA.client();
    const signup = await founder.request('POST', '/api/auth/signup', {
      email: EMAIL,
      password: PASSWORD,
      name: 'Rotator',
      organization: 'Rotation',
    });
    assert.equal(signup.status, 201, JSON.stringify(signup.body));
    const refused = await edgeA
      .client()
      .request('POST', '/api/auth/login', { email: EMAIL, password: 'wrong wrong wrong' });
    assert.equal(refused.status, 401);
    await signIn(edgeA);
    await edgeA.services.db.insert(servers).values({
      id: SERVER_ID,
      organizationId: signup.body.organization.id,
      name: 'build-host',
      kind: 'ssh',
      labels: {},
      capacity: { workspaces: 4 },
      storage: { kind: 'volumes' },
      endpoint: { host: '198.51.100.7', port: 22, user: 'keel' },
      credentialSealed: await edgeA.services.box.seal(CREDENTIAL, purpose(SERVER_ID)),
      credentialFingerprint: 'SHA256:rotation',
    });
    const underA = await sealedValues(inspect.db);
    for (const place of Object.values(underA)) {
      assert.ok(place.length > 0);
      for (const v of place) assert.equal(v.kid, kidA, `${v.id} is sealed under A`);
    }
    await stop(edgeA);

    // B seals, A is still accepted: what A sealed opens and checks. (The install chain is
    // checked directly: reading it through the API is itself audited, which would move its
    // head and re-seal it under B before the rotation has anything to do.)
    const edgeAB = await start({ KEEL_SECRET_KEY: B, KEEL_SECRET_KEY_PREVIOUS: A });
    const duringRoll = await signIn(edgeAB);
    const verify = await duringRoll.request('GET', '/api/admin/audit/verify', undefined, { bearer: true });
    assert.equal(verify.body.ok, true, JSON.stringify(verify.body));
    assert.deepEqual(await verifyAuditChain(edgeAB.services, INSTALL_CHAIN), { ok: true, checked: 1 });
    assert.equal(await edgeAB.services.box.open(underA.servers[0]!.value, purpose(SERVER_ID)), CREDENTIAL);
    await stop(edgeAB);

    // What is left under A: the signing key, the credential, the install chain's head (no
    // refused sign-in since); the organization's head moved, re-sealed by B, with the sign-in.
    const dry = await rotate(databaseUrl, { KEEL_SECRET_KEY: B, KEEL_SECRET_KEY_PREVIOUS: A }, ['--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /dry run: 3 value\(s\) would be re-sealed/);
    assert.match(dry.stdout, new RegExp(`sealing key id ${kidB}; also accepted: ${kidA}`));
    const beforeRotation = await sealedValues(inspect.db);
    assert.deepEqual(beforeRotation.auditHeads.map((h) => h.kid).sort(), [kidA, kidB].sort());

    const rotated = await rotate(databaseUrl, { KEEL_SECRET_KEY: B, KEEL_SECRET_KEY_PREVIOUS: A });
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /signing_keys\.private_jwk_encrypted\s+1 re-sealed, 0 already/);
    assert.match(rotated.stdout, /servers\.credential_sealed\s+1 re-sealed, 0 already/);
    assert.match(rotated.stdout, /audit_heads\.mac\s+1 re-sealed, 1 already/);
    const afterRotation = await sealedValues(inspect.db);
    for (const place of Object.values(afterRotation)) {
      for (const v of place) assert.equal(v.kid, kidB, `${v.id} is sealed under B`);
    }
    assert.equal(
      afterRotation.signingKeys[0]!.id,
      beforeRotation.signingKeys[0]!.id,
      'the same key, re-sealed',
    );
    const [cred] = await inspect.db.select().from(servers).where(eq(servers.id, SERVER_ID));
    assert.equal(cred!.credentialFingerprint, 'SHA256:rotation');

    // Idempotent: a second run finds nothing and writes nothing (not even an audit event).
    const again = await rotate(databaseUrl, { KEEL_SECRET_KEY: B, KEEL_SECRET_KEY_PREVIOUS: A });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing to re-seal/);
    assert.deepEqual(await sealedValues(inspect.db), afterRotation);

    // B alone.
    const edgeB = await start({ KEEL_SECRET_KEY: B });
    const client = await signIn(edgeB);
    await assertAuditSound(client);
    assert.equal(
      await edgeB.services.box.open(afterRotation.servers[0]!.value, purpose(SERVER_ID)),
      CREDENTIAL,
    );
    await assert.rejects(
      edgeB.services.box.open(underA.servers[0]!.value, purpose(SERVER_ID)),
      /not accepted/,
    );
    const trail = await client.request('GET', '/api/install/audit', undefined, { bearer: true });
    assert.equal(trail.status, 200, JSON.stringify(trail.body));
    const event = JSON.stringify(trail.body);
    assert.match(event, /install\.secret_rotated/);
    await stop(edgeB);
  });

  test('a value that opens under no accepted key: rotate-secret refuses, exits non-zero and changes nothing', async () => {
    const url = await freshDatabaseUrl();
    const db = connectPostgres(url, { max: 1 });
    try {
      const C = testSecretKey();
      const stranger = testSecretKey();
      const boxOf = (secret: string) => new SecretBox(new Uint8Array(Buffer.from(secret, 'base64')));
      const orgId = 'org_rotationrotationrotat';
      await db.db.insert(organizations).values({ id: orgId, name: 'Rotation', createdAt: new Date() });
      const server = (id: string, credentialSealed: string) => ({
        id,
        organizationId: orgId,
        name: id,
        kind: 'ssh',
        labels: {},
        capacity: { workspaces: 1 },
        storage: {},
        endpoint: {},
        credentialSealed,
        credentialFingerprint: 'SHA256:x',
      });
      const altered = await boxOf(B).seal('secret', purpose('srv_alteredalteredaltered'));
      await db.db.insert(servers).values([
        // Would be re-sealed under C, but for the two below.
        server(
          'srv_fineunderbfineunderbfi',
          await boxOf(B).seal('secret', purpose('srv_fineunderbfineunderbfi')),
        ),
        server(
          'srv_strangerstrangerstran',
          await boxOf(stranger).seal('secret', purpose('srv_strangerstrangerstran')),
        ),
        server(
          'srv_alteredalteredaltered',
          `${altered.slice(0, -4)}${altered.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`,
        ),
      ]);
      const snapshot = await sealedValues(db.db);

      const refused = await rotate(url, { KEEL_SECRET_KEY: C, KEEL_SECRET_KEY_PREVIOUS: B });
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /refusing to rotate: 2 value\(s\)/);
      assert.match(
        refused.stderr,
        new RegExp(
          `srv_strangerstrangerstran: sealed under key id ${await kidOf(stranger)}, which is not accepted`,
        ),
      );
      assert.match(refused.stderr, /srv_alteredalteredaltered: opens under no accepted key/);
      for (const secret of [B, C, stranger]) {
        assert.equal(
          refused.stderr.includes(secret) || refused.stdout.includes(secret),
          false,
          'no secret is printed',
        );
      }
      assert.deepEqual(await sealedValues(db.db), snapshot, 'nothing changed');

      // A forged audit head refuses the rotation too, and is left as evidence.
      await db.db
        .delete(servers)
        .where(inArray(servers.id, ['srv_strangerstrangerstran', 'srv_alteredalteredaltered']));
      await db.db.insert(auditHeads).values({
        chain: orgId,
        seq: 9,
        hash: 'e'.repeat(64),
        mac: await new AuditHeadSeal(new Uint8Array(Buffer.from(stranger, 'base64'))).seal({
          chain: orgId,
          seq: 9,
          hash: 'e'.repeat(64),
        }),
      });
      const forged = await rotate(url, { KEEL_SECRET_KEY: C, KEEL_SECRET_KEY_PREVIOUS: B });
      assert.equal(forged.code, 1, forged.stderr);
      assert.match(
        forged.stderr,
        new RegExp(`audit_heads\\.mac ${orgId}: sealed under key id ${await kidOf(stranger)}`),
      );
      assert.deepEqual(
        (await sealedValues(db.db)).servers,
        snapshot.servers.filter((v) => v.id === 'srv_fineunderbfineunderbfi'),
        'still under B',
      );

      // Once the head is dealt with, the rotation goes through.
      await db.db.delete(auditHeads).where(eq(auditHeads.chain, orgId));
      const rotated = await rotate(url, { KEEL_SECRET_KEY: C, KEEL_SECRET_KEY_PREVIOUS: B });
      assert.equal(rotated.code, 0, rotated.stderr);
      assert.equal((await sealedValues(db.db)).servers[0]!.kid, await kidOf(C));
    } finally {
      await db.close();
    }
  });

  test('bad configuration exits 2 and names the variable', async () => {
    const missing = await rotate(databaseUrl, {});
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /KEEL_SECRET_KEY/);
    const bad = await rotate(databaseUrl, { KEEL_SECRET_KEY: B, KEEL_SECRET_KEY_PREVIOUS: 'dG9vLXNob3J0' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /KEEL_SECRET_KEY_PREVIOUS/);
    assert.equal(bad.stderr.includes('dG9vLXNob3J0'), false);
    const unknown = await rotate(databaseUrl, { KEEL_SECRET_KEY: B }, ['--force']);
    assert.equal(unknown.code, 2);
  });
});
