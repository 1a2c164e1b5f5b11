import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import type { DriverKind as AnyDriverKind } from '@keel/contract/runners';
import { answerClientErrors } from '../../edge/src/http/node-client-errors.ts';
import { nodeWebSockets } from '../../edge/src/terminal/node-websockets.ts';
import { parseRunnerEnv, type RunnerConfig } from '../../runners/src/env.ts';
import { register, type SavedCredential } from '../../runners/src/registration.ts';
import { Runner } from '../../runners/src/runner.ts';
import { DockerDriver } from '../../runners/src/workloads/docker.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import type { WorkloadDriver } from '../../runners/src/workloads/types.ts';
import { ensureDockerAndImage } from '../runner/docker-helper.ts';
import { BrowserClient } from './browser-client.ts';
import { testInfra } from './infra.ts';
import { freePort, waitFor } from './ports.ts';
import { createTestApp, type TestApp } from './test-app.ts';

export type DriverKind = 'process' | 'docker';
export const DRIVER_KINDS: DriverKind[] = ['process', 'docker'];
const PASSWORD = 'correct horse battery staple';

export interface Rig {
  base: string;
  app: TestApp;
  admin: BrowserClient;
  orgId: string;
  runner: Runner;
  driver: WorkloadDriver;
  credential: SavedCredential;
  config: RunnerConfig;
  http(path: string, init?: RequestInit): Promise<Response>;
  /** A fresh signed-in client of the admin's organization with the given role. */
  member(role: 'viewer' | 'developer' | 'admin', email: string): Promise<BrowserClient>;
  waitForStatus(client: BrowserClient, workspaceId: string, status: string, timeoutMs?: number): Promise<any>;
  close(): Promise<void>;
}

export function makeDriver(kind: DriverKind, dataDir: string): WorkloadDriver {
  return kind === 'docker' ? new DockerDriver() : new ProcessDriver({ root: join(dataDir, 'workspaces') });
}

export interface RigOptions {
  runnerEnv?: Record<string, string>;
  edgeEnv?: Record<string, string>;
  /** The edge's PostgreSQL database (a server the test restarts); else PGlite. */
  databaseUrl?: string;
  /**
   * A driver made elsewhere (a conformance target), run by the rig's runner as it is; the
   * caller removes it. Without it the rig makes a local driver of `kind`.
   */
  driver?: WorkloadDriver;
}

/**
 * A whole Keel on loopback: the edge on a real HTTP port (PGlite, real Redis), an admin,
 * and a real runner registered through the API with the chosen workload driver.
 */
export async function startRig(kind: DriverKind, options?: RigOptions): Promise<Rig>;
export async function startRig(
  kind: AnyDriverKind,
  options: RigOptions & { driver: WorkloadDriver },
): Promise<Rig>;
export async function startRig(kind: AnyDriverKind, options: RigOptions = {}): Promise<Rig> {
  if (options.driver && options.driver.kind !== kind) {
    throw new Error(`startRig(${kind}) was given a ${options.driver.kind} driver`);
  }
  if (kind === 'docker' && !options.driver) await ensureDockerAndImage();
  const infra = await testInfra();
  const sockets = nodeWebSockets();
  const app = await createTestApp({
    env: options.edgeEnv ?? {},
    upgradeWebSocket: sockets.upgrade,
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
  });
  const port = await freePort();
  const server: ServerType = await new Promise((resolve) => {
    const s = serve(
      { fetch: app.app.fetch, port, hostname: '127.0.0.1', websocket: { server: sockets.server } },
      () => resolve(s),
    );
  });
  // As the Node entry does: what the HTTP parser refuses gets the error body too.
  answerClientErrors(server as Server);
  const base = `http://127.0.0.1:${port}`;
  const http = (path: string, init?: RequestInit) => fetch(new URL(path, base), init);
  const admin = new BrowserClient(http);
  const signup = await admin.request('POST', '/api/auth/signup', {
    email: 'admin@example.com',
    password: PASSWORD,
    name: 'Admin',
  });
  const orgId = signup.body.organization.id as string;
  const token = await admin.request(
    'POST',
    '/api/admin/runner-tokens',
    { name: 'rig', maxUses: 1 },
    { bearer: true },
  );
  const dataDir = mkdtempSync(join(tmpdir(), `keel-runner-${kind}-`));
  // The process driver's sandbox user must be able to walk down to its workspace.
  chmodSync(dataDir, 0o711);
  const config = parseRunnerEnv({
    KEEL_URL: base,
    KEEL_RUNNER_TOKEN: token.body.token,
    KEEL_RUNNER_NAME: `rig-${kind}`,
    KEEL_RUNNER_DATA_DIR: dataDir,
    // The runner's own choice of driver names only the local ones; a given driver is used as it is.
    KEEL_RUNNER_DRIVER: kind === 'docker' || kind === 'process' ? kind : 'auto',
    KEEL_RUNNER_ALLOW_LOCAL_GIT: 'true',
    KEEL_IDLE_STOP_SECONDS: '0',
    REDIS_URL: infra.redisUrl,
    ...options.runnerEnv,
  });
  const driver = options.driver ?? makeDriver(kind as DriverKind, dataDir);
  const credential = await register(config, {
    drivers: [kind],
    capacity: { workspaces: 50, cpus: 2, memoryMb: 65_536 },
  });
  // The edge was built with its own Redis prefix; the runner learns it at registration.
  const runner = new Runner(config, credential, driver);
  await runner.start();

  let invites = 0;
  const rig: Rig = {
    base,
    app,
    admin,
    orgId,
    runner,
    driver,
    credential,
    config,
    http,
    async member(role, email) {
      const inv = await admin.request('POST', `/api/orgs/${orgId}/invitations`, { role }, { bearer: true });
      const c = new BrowserClient(http);
      invites++;
      const res = await c.request('POST', '/api/auth/signup', {
        email,
        password: PASSWORD,
        name: `${role}${invites}`,
        inviteToken: inv.body.token,
      });
      if (res.status !== 201) throw new Error(`member signup failed: ${JSON.stringify(res.body)}`);
      return c;
    },
    async waitForStatus(client, workspaceId, status, timeoutMs = 60_000) {
      const seen = await waitFor(
        `workspace ${workspaceId} to be ${status}`,
        async () => {
          const res = await client.request('GET', `/api/workspaces/${workspaceId}/status`, undefined, {
            bearer: true,
          });
          return res.body.status === status || res.body.status === 'failed' ? res.body : undefined;
        },
        timeoutMs,
        100,
      );
      if (seen.status !== status) throw new Error(`workspace ${workspaceId} failed: ${seen.reason}`);
      return seen;
    },
    async close() {
      // Only this rig's workspaces: other test files share the Docker engine.
      // A runner whose Redis user was revoked cannot list them; its folders go with dataDir.
      const own = await runner.ownWorkspaces().catch(() => [] as string[]);
      await runner.stop();
      for (const id of own) await driver.remove(id, { keepData: false }).catch(() => {});
      sockets.closeAll();
      await new Promise<void>((r) => server.close(() => r()));
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return rig;
}

/** Reads an SSE response to its end (or until `stopAfter` events), as a list of events. */
export async function readSse(
  res: Response,
  stopAfter = Number.POSITIVE_INFINITY,
): Promise<Array<{ id?: string; event: string; data: string }>> {
  const events: Array<{ id?: string; event: string; data: string }> = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let sep = buffer.indexOf('\n\n');
    while (sep >= 0) {
      const block = buffer.slice(0, sep);
      buffer = buffer.slice(sep + 2);
      sep = buffer.indexOf('\n\n');
      const ev: { id?: string; event: string; data: string } = { event: 'message', data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(value);
        else if (field === 'event') ev.event = value;
        else if (field === 'id') ev.id = value;
      }
      if (data.length === 0 && !ev.id) continue;
      ev.data = data.join('\n');
      events.push(ev);
      if (events.length >= stopAfter) {
        await reader.cancel();
        return events;
      }
    }
  }
  return events;
}
