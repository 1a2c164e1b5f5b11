/*
 * A whole Keel for the fleet's end-to-end tests: the edge on a real HTTP port over a real
 * PostgreSQL database and Redis, restartable with other secrets on the same port (as an operator
 * restarts it to rotate KEEL_SECRET_KEY), an admin and a developer of one organization, and a
 * real runner registered through the API with the local Docker driver and its servers'
 * resources collected every `resourcesIntervalMs`.
 */

import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { createApp } from '../../edge/src/app.ts';
import { newKeyCache } from '../../edge/src/auth/signing-keys.ts';
import { parseEdgeEnv } from '../../edge/src/env.ts';
import { answerClientErrors } from '../../edge/src/http/node-client-errors.ts';
import { systemClock } from '../../edge/src/services/clock.ts';
import { connectPostgres } from '../../edge/src/services/database.ts';
import { buildServices, type Services } from '../../edge/src/services.ts';
import { nodeWebSockets } from '../../edge/src/terminal/node-websockets.ts';
import { parseRunnerEnv } from '../../runners/src/env.ts';
import { register } from '../../runners/src/registration.ts';
import { Runner } from '../../runners/src/runner.ts';
import { DockerDriver } from '../../runners/src/workloads/docker.ts';
import { ensureDockerAndImage } from '../runner/docker-helper.ts';
import { BrowserClient } from './browser-client.ts';
import { testInfra } from './infra.ts';
import { freshDatabaseUrl } from './migrated-postgres.ts';
import { freePort, waitFor } from './ports.ts';
import { GENEROUS_REQUEST_LIMITS, testSecretKey } from './test-app.ts';

export const PASSWORD = 'correct horse battery staple';
export const ADMIN_EMAIL = 'fleet-admin@example.com';
export const DEVELOPER_EMAIL = 'fleet-dev@example.com';

export interface Fleet {
  base: string;
  databaseUrl: string;
  /** The secret the edge seals with now. */
  secret: string;
  services(): Services;
  http(path: string, init?: RequestInit): Promise<Response>;
  /** Every request the edge answered (people's and the runner's), in order. */
  requests: Array<{ method: string; path: string; status: number }>;
  admin: BrowserClient;
  developer: BrowserClient;
  orgId: string;
  runnerId: string;
  runner: Runner;
  /** A client signed in again as `email` (after a restart, say). */
  signIn(email: string): Promise<BrowserClient>;
  /** Stops the edge and starts another on the same port, database and Redis prefix with `secrets`. */
  restartEdge(secrets: Record<string, string>): Promise<void>;
  waitForStatus(client: BrowserClient, workspaceId: string, status: string, timeoutMs?: number): Promise<any>;
  close(): Promise<void>;
}

export async function startFleet(
  options: { resourcesIntervalMs?: number; probeTimeoutMs?: number } = {},
): Promise<Fleet> {
  await ensureDockerAndImage();
  const infra = await testInfra();
  const databaseUrl = await freshDatabaseUrl();
  const prefix = `fleet${randomBytes(4).toString('hex')}:`;
  const sockets = nodeWebSockets();
  const clientIp = `10.${randomBytes(3).join('.')}`;

  let secret = testSecretKey();
  let edge: { app: ReturnType<typeof createApp>; services: Services; close(): Promise<void> } | undefined;
  const startEdge = (secrets: Record<string, string>) => {
    const config = parseEdgeEnv({
      REDIS_URL: infra.redisUrl,
      DATABASE_URL: databaseUrl,
      KEEL_REDIS_PREFIX: prefix,
      ...GENEROUS_REQUEST_LIMITS,
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
    const app = createApp({
      provideServices: async (c, next) => {
        c.set('services', handle.services);
        await next();
      },
      clientIp: () => clientIp,
      upgradeWebSocket: sockets.upgrade,
    });
    return { app, services: handle.services, close: () => handle.close() };
  };
  edge = startEdge({ KEEL_SECRET_KEY: secret });

  const requests: Fleet['requests'] = [];
  const port = await freePort();
  // One HTTP server for the fleet's life: a restart swaps the app behind it, so the runner
  // keeps the address it registered with (as behind a load balancer).
  const server: ServerType = await new Promise((resolve) => {
    const s = serve(
      {
        fetch: async (req, env) => {
          if (!edge) return new Response('restarting', { status: 503 });
          const res = await edge.app.fetch(req, env);
          const url = new URL(req.url);
          requests.push({ method: req.method, path: url.pathname + url.search, status: res.status });
          return res;
        },
        port,
        hostname: '127.0.0.1',
        websocket: { server: sockets.server },
      },
      () => resolve(s),
    );
  });
  answerClientErrors(server as Server);
  const base = `http://127.0.0.1:${port}`;
  const http = (path: string, init?: RequestInit) => fetch(new URL(path, base), init);

  const admin = new BrowserClient(http);
  const signup = await admin.request('POST', '/api/auth/signup', {
    email: ADMIN_EMAIL,
    password: PASSWORD,
    name: 'Fleet Admin',
    organization: 'Fleet',
  });
  if (signup.status !== 201) throw new Error(`signup: ${JSON.stringify(signup.body)}`);
  const orgId = signup.body.organization.id as string;
  const invite = await admin.request(
    'POST',
    `/api/orgs/${orgId}/invitations`,
    { email: DEVELOPER_EMAIL, role: 'developer' },
    { bearer: true },
  );
  const developer = new BrowserClient(http);
  const joined = await developer.request('POST', '/api/auth/signup', {
    email: DEVELOPER_EMAIL,
    password: PASSWORD,
    name: 'Fleet Dev',
    inviteToken: invite.body.token,
  });
  if (joined.status !== 201) throw new Error(`developer signup: ${JSON.stringify(joined.body)}`);

  const token = await admin.request(
    'POST',
    '/api/admin/runner-tokens',
    { name: 'fleet', maxUses: 1 },
    { bearer: true },
  );
  const dataDir = mkdtempSync(join(tmpdir(), 'keel-fleet-'));
  chmodSync(dataDir, 0o711);
  const config = parseRunnerEnv({
    KEEL_URL: base,
    KEEL_RUNNER_TOKEN: token.body.token,
    KEEL_RUNNER_NAME: 'fleet',
    KEEL_RUNNER_DATA_DIR: dataDir,
    KEEL_RUNNER_DRIVER: 'docker',
    KEEL_IDLE_STOP_SECONDS: '0',
    REDIS_URL: infra.redisUrl,
  });
  const driver = new DockerDriver();
  const credential = await register(config, {
    drivers: ['docker'],
    capacity: { workspaces: 50, cpus: 2, memoryMb: 65_536 },
  });
  const runner = new Runner(config, credential, driver, {
    resourcesIntervalMs: options.resourcesIntervalMs ?? 1_000,
    ...(options.probeTimeoutMs ? { probeTimeoutMs: options.probeTimeoutMs } : {}),
  });
  await runner.start();
  await waitFor(
    'the runner to come online',
    async () => {
      const r = await admin.request('GET', '/api/admin/runners', undefined, { bearer: true });
      return r.body.runners?.some((x: { status: string }) => x.status === 'online') || undefined;
    },
    30_000,
    100,
  );

  return {
    base,
    databaseUrl,
    get secret() {
      return secret;
    },
    services: () => edge!.services,
    http,
    requests,
    admin,
    developer,
    orgId,
    runnerId: credential.runnerId,
    runner,
    async signIn(email) {
      const c = new BrowserClient(http);
      const res = await c.request('POST', '/api/auth/login', { email, password: PASSWORD });
      if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${JSON.stringify(res.body)}`);
      return c;
    },
    async restartEdge(secrets) {
      const old = edge;
      edge = undefined;
      sockets.closeAll();
      await old?.close();
      edge = startEdge(secrets);
      if (secrets.KEEL_SECRET_KEY) secret = secrets.KEEL_SECRET_KEY;
    },
    async waitForStatus(client, workspaceId, status, timeoutMs = 90_000) {
      let last: unknown;
      const seen = await waitFor(
        `workspace ${workspaceId} to be ${status}`,
        async () => {
          const res = await client.request('GET', `/api/workspaces/${workspaceId}/status`, undefined, {
            bearer: true,
          });
          last = res.body;
          return res.body.status === status || res.body.status === 'failed' ? res.body : undefined;
        },
        timeoutMs,
        150,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; last seen ${JSON.stringify(last)}`);
      });
      if (seen.status !== status) throw new Error(`workspace ${workspaceId} failed: ${seen.reason}`);
      return seen;
    },
    async close() {
      const own = await runner.ownWorkspaces().catch(() => [] as string[]);
      await runner.stop();
      for (const id of own) await driver.remove(id, { keepData: false }).catch(() => {});
      sockets.closeAll();
      await new Promise<void>((r) => server.close(() => r()));
      await edge?.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
