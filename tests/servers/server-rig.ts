/**
 * What the server registry's tests share: the real app on real PostgreSQL and Redis, an
 * organization with its admin and a developer (invited the real way), another organization
 * with its admin, runners registered through the API, and a stand-in for a runner's call
 * consumer (the runner's own `server.test` handler is tested with the runner). Every answer a
 * person's client receives is kept, so a test can look for secrets in all of them.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { JobOutcome } from '@keel/contract/jobs';
import { runnerKeys } from '@keel/contract/keys';
import { memberships, organizations, users } from '@keel/drizzle/schema';
import { Redis } from 'ioredis';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { CallConsumer } from '../../runners/src/call-consumer.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { testInfra } from '../harness/infra.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';

const PASSWORD = 'correct horse battery staple';
export const BOOTSTRAP_TOKEN = `boot-${randomBytes(24).toString('hex')}`;

export interface RegisteredRunner {
  runnerId: string;
  credential: string;
}

export interface ServerRig {
  app: TestApp;
  admin: BrowserClient;
  developer: BrowserClient;
  outsider: BrowserClient;
  orgId: string;
  outsiderOrgId: string;
  /** Every body a person's client received, as text. */
  bodies: string[];
  registerRunner(
    client: BrowserClient | 'shared',
    labels?: Record<string, string>,
  ): Promise<RegisteredRunner>;
  /** Marks the runner online (a heartbeat, as the runner writes it) for a minute, or offline. */
  setOnline(runnerId: string, online: boolean, workspacesRunning?: number): Promise<void>;
  /** Answers the runner's calls with `handle` until the returned stop is called. */
  answerCalls(runnerId: string, handle: (job: any) => Promise<JobOutcome>): () => Promise<void>;
  /** A runner's own HTTP call, with its credential; not kept among the people's bodies. */
  runnerFetch(runner: RegisteredRunner, path: string): Promise<Response>;
  redis: Redis;
  close(): Promise<void>;
}

export async function startServerRig(): Promise<ServerRig> {
  const app = await createTestApp({
    database: 'postgres',
    env: { KEEL_RUNNER_BOOTSTRAP_TOKEN: BOOTSTRAP_TOKEN },
  });
  const bodies: string[] = [];
  const recorded = async (path: string, init?: RequestInit) => {
    const res = await app.fetch(path, init);
    bodies.push(await res.clone().text());
    return res;
  };
  const admin = new BrowserClient(recorded);
  const signup = await admin.request('POST', '/api/auth/signup', {
    email: 'ops@example.com',
    password: PASSWORD,
    name: 'Ops',
    organization: 'Acme',
  });
  assert.equal(signup.status, 201, JSON.stringify(signup.body));
  const me = await admin.request('GET', '/api/auth/me', undefined, { bearer: true });
  const orgId = me.body.organization.id as string;

  const invitation = await admin.request(
    'POST',
    `/api/orgs/${orgId}/invitations`,
    { email: 'dev@example.com', role: 'developer' },
    { bearer: true },
  );
  assert.equal(invitation.status, 201, JSON.stringify(invitation.body));
  const developer = new BrowserClient(recorded);
  const joined = await developer.request('POST', '/api/auth/signup', {
    email: 'dev@example.com',
    password: PASSWORD,
    name: 'Dev',
    inviteToken: invitation.body.token,
  });
  assert.equal(joined.status, 201, JSON.stringify(joined.body));

  // Another organization, written straight to the database (signup makes only the first).
  const db = app.services.db;
  const outsiderOrgId = `org_${'o'.repeat(20)}`;
  const outsiderUserId = `usr_${'o'.repeat(20)}`;
  const now = new Date();
  await db.insert(organizations).values({ id: outsiderOrgId, name: 'Other', createdAt: now });
  await db.insert(users).values({
    id: outsiderUserId,
    email: 'other@example.org',
    name: 'Other',
    passwordHash: await hashPassword(PASSWORD),
    createdAt: now,
  });
  await db
    .insert(memberships)
    .values({ userId: outsiderUserId, organizationId: outsiderOrgId, role: 'super_admin', createdAt: now });
  const outsider = new BrowserClient(recorded);
  const login = await outsider.request('POST', '/api/auth/login', {
    email: 'other@example.org',
    password: PASSWORD,
  });
  assert.equal(login.status, 200, JSON.stringify(login.body));

  const redis = new Redis((await testInfra()).redisUrl, { maxRetriesPerRequest: null });
  const prefix = app.services.config.redisPrefix;
  const consumers: Array<() => Promise<void>> = [];

  return {
    app,
    admin,
    developer,
    outsider,
    orgId,
    outsiderOrgId,
    bodies,
    redis,
    async registerRunner(client, labels = {}) {
      let token = BOOTSTRAP_TOKEN;
      if (client !== 'shared') {
        const made = await client.request('POST', '/api/admin/runner-tokens', { labels }, { bearer: true });
        assert.equal(made.status, 201, JSON.stringify(made.body));
        token = made.body.token;
      }
      const res = await app.fetch('/api/runners/register', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          token,
          name: `runner-${randomBytes(3).toString('hex')}`,
          labels: client === 'shared' ? labels : {},
          capacity: { workspaces: 50, cpus: 4, memoryMb: 16_384 },
          drivers: ['docker'],
          version: 'test',
        }),
      });
      const body = (await res.json()) as RegisteredRunner;
      assert.equal(res.status, 201, JSON.stringify(body));
      return { runnerId: body.runnerId, credential: body.credential };
    },
    async setOnline(runnerId, online, workspacesRunning = 0) {
      const key = runnerKeys(prefix, runnerId).heartbeat;
      if (!online) {
        await redis.del(key);
        return;
      }
      const beat = {
        v: 1,
        runnerId,
        at: new Date().toISOString(),
        version: 'test',
        driver: 'docker',
        cpus: 4,
        load: [0, 0, 0],
        memory: { totalMb: 16_384, freeMb: 12_288 },
        disk: { totalMb: 10_000, freeMb: 5_000 },
        workspacesRunning,
        gpus: [],
      };
      await redis.set(key, JSON.stringify(beat), 'EX', 60);
    },
    answerCalls(runnerId, handle) {
      const base = runnerKeys(prefix, runnerId).base;
      const own = redis.duplicate();
      const blocking = redis.duplicate();
      const consumer = new CallConsumer(own, blocking, base, 2, handle);
      consumer.start();
      const stop = async () => {
        await consumer.stop(2_000);
        own.disconnect();
      };
      consumers.push(stop);
      return stop;
    },
    runnerFetch(runner, path) {
      return app.fetch(path, { headers: { authorization: `Bearer ${runner.credential}` } });
    },
    async close() {
      await Promise.allSettled(consumers.map((stop) => stop()));
      redis.disconnect();
      await app.close();
    },
  };
}

/** A fresh ed25519 key pair: the private key in PEM, the public one as an OpenSSH line. */
export function sshKeyPair(comment = 'test'): { privateKey: string; publicLine: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const type = Buffer.from('ssh-ed25519');
  const blob = Buffer.concat([u32(type.length), type, u32(raw.length), raw]);
  return {
    privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicLine: `ssh-ed25519 ${blob.toString('base64')} ${comment}`,
  };
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** A PEM-shaped document with a marker inside, so a test can look for it anywhere. */
export function pem(label: string, marker: string): string {
  const body = Buffer.from(`${marker}-${randomBytes(24).toString('hex')}`).toString('base64');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

export function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}

/** A kubeconfig with one context; `user` and `cluster` fields are merged over the defaults. */
export function kubeconfig(
  options: { user?: Record<string, unknown>; cluster?: Record<string, unknown>; current?: string } = {},
): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': options.current ?? 'main',
    contexts: [{ name: 'main', context: { cluster: 'c1', user: 'u1', namespace: 'default' } }],
    clusters: [
      {
        name: 'c1',
        cluster: {
          server: 'https://198.51.100.10:6443',
          'certificate-authority-data': b64(pem('CERTIFICATE', 'KUBE-CA')),
          ...options.cluster,
        },
      },
    ],
    users: [{ name: 'u1', user: options.user ?? { token: 'kube-token-placeholder' } }],
  });
}
