import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserClient } from '../tests/harness/browser-client.ts';
import { freePort, waitFor } from '../tests/harness/ports.ts';
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

/**
 * Keel as it is deployed: the Node edge and a runner, each its own process (as they would
 * be on their own hosts), on the benchmark's Redis; the benchmark itself is the client.
 */
export async function startSystem(
  driver: 'docker' | 'process',
  options: { runnerEnv?: Record<string, string>; edgeEnv?: Record<string, string> } = {},
): Promise<BenchSystem> {
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-'));
  chmodSync(dir, 0o711);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const bootstrap = `rbt_${'b'.repeat(40)}`;
  const env = {
    ...process.env,
    REDIS_URL: process.env.KEEL_TEST_REDIS_URL!,
    KEEL_SECRET_KEY: testSecretKey(),
  };
  const edge = spawnService(
    process.execPath,
    ['--import', 'tsx', 'edge/src/entry-node.ts'],
    {
      ...env,
      PORT: String(port),
      KEEL_DATA_DIR: join(dir, 'edge'),
      KEEL_RUNNER_BOOTSTRAP_TOKEN: bootstrap,
      ...options.edgeEnv,
    },
    root,
  );
  await waitForHttp(`${base}/readyz`, edge);
  const runner = spawnService(
    process.execPath,
    [join(root, 'runners/bin/keel-runner.mjs')],
    {
      ...env,
      KEEL_URL: base,
      KEEL_RUNNER_TOKEN: bootstrap,
      KEEL_RUNNER_DATA_DIR: join(dir, 'runner'),
      KEEL_RUNNER_WORKSPACES_DIR: join(dir, 'workspaces'),
      KEEL_RUNNER_DRIVER: driver,
      ...options.runnerEnv,
    },
    root,
  );
  const http = (p: string, init?: RequestInit) => fetch(new URL(p, base), init);
  const admin = new BrowserClient(http);
  await admin.request('POST', '/api/auth/signup', {
    email: 'b@example.com',
    password: 'correct horse battery',
    name: 'B',
  });
  await waitFor('runner online', async () => {
    const r = await admin.request('GET', '/api/admin/runners', undefined, { bearer: true });
    return r.body.runners[0]?.status === 'online' ? true : undefined;
  });
  const created: string[] = [];
  return {
    base,
    dataDir: dir,
    edge,
    runner,
    admin,
    http,
    async workspace(name) {
      const ws = await admin.request('POST', '/api/workspaces', { name }, { bearer: true });
      created.push(ws.body.id);
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
    },
    async stop() {
      for (const id of created)
        await admin.request('DELETE', `/api/workspaces/${id}`, undefined, { bearer: true });
      await new Promise((r) => setTimeout(r, 1_000));
      await Promise.all([runner.stop(), edge.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
