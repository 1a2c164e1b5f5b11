import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserClient } from '../tests/harness/browser-client.ts';
import { freePort, waitFor } from '../tests/harness/ports.ts';
import { removeProcessWorkspaces } from '../tests/harness/process-workspaces.ts';
import { type Spawned, spawnService, waitForHttp } from '../tests/harness/processes.ts';
import { testSecretKey } from '../tests/harness/test-app.ts';

const root = new URL('..', import.meta.url).pathname;

export interface BenchSystem {
  base: string;
  dataDir: string;
  edge: Spawned;
  runner: Spawned;
  admin: BrowserClient;
  http(path: string, init?: RequestInit): Promise<Response>;
  workspace(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** The admin every benchmark edge signs up, for benchmarks that sign in again. */
export const BENCH_ADMIN = { email: 'b@example.com', password: 'correct horse battery' };

/** A Node edge as its own process on its own port and data folder, with a signed-up admin. */
export interface EdgeProcess {
  base: string;
  dir: string;
  edge: Spawned;
  admin: BrowserClient;
  /** What a runner registers with (the edge's bootstrap token). */
  bootstrap: string;
  http(path: string, init?: RequestInit): Promise<Response>;
}

export async function startEdgeProcess(options: {
  redisUrl: string;
  env?: Record<string, string>;
  /** Node options for the edge process, before its entry module. */
  nodeArgs?: string[];
}): Promise<EdgeProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-'));
  chmodSync(dir, 0o711);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const bootstrap = `rbt_${'b'.repeat(40)}`;
  const edge = spawnService(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', 'edge/src/entry-node.ts'],
    {
      ...process.env,
      REDIS_URL: options.redisUrl,
      KEEL_SECRET_KEY: testSecretKey(),
      PORT: String(port),
      KEEL_DATA_DIR: join(dir, 'edge'),
      KEEL_RUNNER_BOOTSTRAP_TOKEN: bootstrap,
      // Every request is still counted (that cost is part of each figure); one client sending
      // thousands a second from one address must just not be refused.
      KEEL_RATE_LIMIT_IP_PER_MINUTE: '1000000000',
      KEEL_RATE_LIMIT_PERSON_PER_MINUTE: '1000000000',
      ...options.env,
    },
    root,
    // Its request log to a file, as under a process manager: not read by this (the load) process.
    { stdoutFile: join(dir, 'edge.log') },
  );
  await waitForHttp(`${base}/readyz`, edge);
  const http = (p: string, init?: RequestInit) => fetch(new URL(p, base), init);
  const admin = new BrowserClient(http);
  await admin.request('POST', '/api/auth/signup', { ...BENCH_ADMIN, name: 'B' });
  return { base, dir, edge, admin, bootstrap, http };
}

export async function waitForRunnerOnline(admin: BrowserClient, timeoutMs?: number): Promise<void> {
  await waitFor(
    'runner online',
    async () => {
      const r = await admin.request('GET', '/api/admin/runners', undefined, { bearer: true });
      return r.body.runners[0]?.status === 'online' ? true : undefined;
    },
    timeoutMs,
  );
}

/** Creates a workspace and waits until it runs; a failed one throws its reason. */
export async function createRunningWorkspace(admin: BrowserClient, name: string): Promise<string> {
  const ws = await admin.request('POST', '/api/workspaces', { name }, { bearer: true });
  await waitFor(
    'workspace running',
    async () => {
      const r = await admin.request('GET', `/api/workspaces/${ws.body.id}/status`, undefined, {
        bearer: true,
      });
      if (r.body.status === 'failed') throw new Error(r.body.reason);
      return r.body.status === 'running' ? true : undefined;
    },
    60_000,
  );
  return ws.body.id as string;
}

/**
 * Keel as it is deployed: the Node edge and a runner, each its own process (as they would
 * be on their own hosts), on the benchmark's Redis; the benchmark itself is the client.
 */
export async function startSystem(
  driver: 'docker' | 'process',
  options: {
    runnerEnv?: Record<string, string>;
    edgeEnv?: Record<string, string>;
    edgeNodeArgs?: string[];
  } = {},
): Promise<BenchSystem> {
  const redisUrl = process.env.KEEL_TEST_REDIS_URL!;
  const { base, dir, edge, admin, bootstrap, http } = await startEdgeProcess({
    redisUrl,
    ...(options.edgeEnv ? { env: options.edgeEnv } : {}),
    ...(options.edgeNodeArgs ? { nodeArgs: options.edgeNodeArgs } : {}),
  });
  const runner = spawnService(
    process.execPath,
    [join(root, 'runners/bin/keel-runner.mjs')],
    {
      ...process.env,
      REDIS_URL: redisUrl,
      KEEL_SECRET_KEY: testSecretKey(),
      KEEL_URL: base,
      KEEL_RUNNER_TOKEN: bootstrap,
      KEEL_RUNNER_DATA_DIR: join(dir, 'runner'),
      KEEL_RUNNER_WORKSPACES_DIR: join(dir, 'workspaces'),
      KEEL_RUNNER_DRIVER: driver,
      ...options.runnerEnv,
    },
    root,
  );
  await waitForRunnerOnline(admin);
  const created: string[] = [];
  return {
    base,
    dataDir: dir,
    edge,
    runner,
    admin,
    http,
    async workspace(name) {
      const id = await createRunningWorkspace(admin, name);
      created.push(id);
      return id;
    },
    async stop() {
      for (const id of created)
        await admin.request('DELETE', `/api/workspaces/${id}`, undefined, { bearer: true });
      await new Promise((r) => setTimeout(r, 1_000));
      await Promise.all([runner.stop(), edge.stop()]);
      await removeProcessWorkspaces(join(dir, 'workspaces'));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
