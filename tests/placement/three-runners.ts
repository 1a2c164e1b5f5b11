/*
 * Keel with several real runners on one machine, each with its own data folder, labels and
 * capacity, registered through the API and publishing real heartbeats: the edge on a real
 * HTTP port (PGlite, real Redis), an admin (the install's first account) and a developer.
 * A runner may be started with a stand-in `nvidia-smi` (a shell script in a folder named
 * `nvidia-smi-standin`) first on its PATH, so that its heartbeat reports GPUs.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { answerClientErrors } from '../../edge/src/http/node-client-errors.ts';
import { parseRunnerEnv } from '../../runners/src/env.ts';
import { register } from '../../runners/src/registration.ts';
import { Runner } from '../../runners/src/runner.ts';
import type { WorkloadDriver } from '../../runners/src/workloads/types.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { testInfra } from '../harness/infra.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { type DriverKind, makeDriver } from '../harness/runner-rig.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';
import { ensureDockerAndImage } from '../runner/docker-helper.ts';

const PASSWORD = 'correct horse battery staple';

export interface RunnerSpec {
  name: string;
  driver: DriverKind;
  labels: Record<string, string>;
  capacity: { workspaces: number; cpus: number; memoryMb: number };
  /** GPUs the stand-in `nvidia-smi` lists for this runner; none: no stand-in on its PATH. */
  standinGpus?: number;
}

export interface StartedRunner {
  id: string;
  spec: RunnerSpec;
  runner: Runner;
  driver: WorkloadDriver;
  dataDir: string;
}

export interface PlacementRig {
  app: TestApp;
  admin: BrowserClient;
  developer: BrowserClient;
  orgId: string;
  runners: Map<string, StartedRunner>;
  http(path: string, init?: RequestInit): Promise<Response>;
  addRunner(spec: RunnerSpec): Promise<StartedRunner>;
  signUp(email: string, body?: Record<string, unknown>): Promise<BrowserClient>;
  close(): Promise<void>;
}

/** A folder `nvidia-smi-standin` holding an `nvidia-smi` that lists `gpus` GPUs as the real one's CSV query does. */
function writeNvidiaSmiStandin(root: string, gpus: number): string {
  const dir = join(root, 'nvidia-smi-standin');
  mkdirSync(dir, { recursive: true });
  const lines = Array.from({ length: gpus }, (_, i) => `${i}, NVIDIA Stand-in GPU, 81920, 0, 0`).join('\n');
  writeFileSync(
    join(dir, 'nvidia-smi'),
    `#!/bin/sh\n# A stand-in for nvidia-smi in tests.\ncat <<'EOF'\n${lines}\nEOF\n`,
  );
  chmodSync(join(dir, 'nvidia-smi'), 0o755);
  return dir;
}

export async function startPlacementRig(specs: RunnerSpec[]): Promise<PlacementRig> {
  if (specs.some((s) => s.driver === 'docker')) await ensureDockerAndImage();
  const infra = await testInfra();
  const app = await createTestApp();
  const port = await freePort();
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.app.fetch, port, hostname: '127.0.0.1' }, () => resolve(s));
  });
  answerClientErrors(server as Server);
  const base = `http://127.0.0.1:${port}`;
  const http = (path: string, init?: RequestInit) => fetch(new URL(path, base), init);

  const signUp = async (email: string, body: Record<string, unknown> = {}) => {
    const c = new BrowserClient(http);
    const res = await c.request('POST', '/api/auth/signup', {
      email,
      password: PASSWORD,
      name: email,
      ...body,
    });
    if (res.status !== 201) throw new Error(`signup ${email}: ${JSON.stringify(res.body)}`);
    return c;
  };
  const admin = new BrowserClient(http);
  const signup = await admin.request('POST', '/api/auth/signup', {
    email: 'placement-admin@example.com',
    password: PASSWORD,
    name: 'Admin',
  });
  const orgId = signup.body.organization.id as string;
  const invite = await admin.request(
    'POST',
    `/api/orgs/${orgId}/invitations`,
    { role: 'developer' },
    { bearer: true },
  );
  const developer = await signUp('placement-dev@example.com', { inviteToken: invite.body.token });

  const started = new Map<string, StartedRunner>();
  const addRunner = async (spec: RunnerSpec): Promise<StartedRunner> => {
    const token = await admin.request(
      'POST',
      '/api/admin/runner-tokens',
      { name: spec.name, labels: spec.labels, maxUses: 1 },
      { bearer: true },
    );
    if (token.status !== 201) throw new Error(`runner token: ${JSON.stringify(token.body)}`);
    const dataDir = mkdtempSync(join(tmpdir(), `keel-placement-${spec.name}-`));
    chmodSync(dataDir, 0o711);
    const config = parseRunnerEnv({
      KEEL_URL: base,
      KEEL_RUNNER_TOKEN: token.body.token,
      KEEL_RUNNER_NAME: spec.name,
      KEEL_RUNNER_DATA_DIR: dataDir,
      KEEL_RUNNER_DRIVER: spec.driver,
      KEEL_IDLE_STOP_SECONDS: '0',
      REDIS_URL: infra.redisUrl,
    });
    const driver = makeDriver(spec.driver, dataDir);
    const credential = await register(config, { drivers: [spec.driver], capacity: spec.capacity });
    const runner = new Runner(config, credential, driver);
    // The runner reads its GPUs once, at start, from the nvidia-smi first on PATH: the
    // stand-in's folder is put there for this runner's start only.
    const path = process.env.PATH;
    if (spec.standinGpus) process.env.PATH = `${writeNvidiaSmiStandin(dataDir, spec.standinGpus)}:${path}`;
    try {
      await runner.start();
    } finally {
      process.env.PATH = path;
    }
    const entry = { id: credential.runnerId, spec, runner, driver, dataDir };
    started.set(spec.name, entry);
    await waitFor(
      `runner ${spec.name} online`,
      async () => {
        const r = await admin.request('GET', '/api/admin/runners', undefined, { bearer: true });
        return r.body.runners?.some(
          (x: { id: string; status: string }) => x.id === entry.id && x.status === 'online',
        )
          ? true
          : undefined;
      },
      30_000,
      100,
    );
    return entry;
  };
  for (const spec of specs) await addRunner(spec);

  return {
    app,
    admin,
    developer,
    orgId,
    runners: started,
    http,
    addRunner,
    signUp,
    async close() {
      for (const r of started.values()) {
        const own = await r.runner.ownWorkspaces().catch(() => [] as string[]);
        await r.runner.stop();
        for (const id of own) await r.driver.remove(id, { keepData: false }).catch(() => {});
        rmSync(r.dataDir, { recursive: true, force: true });
      }
      await new Promise<void>((r) => server.close(() => r()));
      await app.close();
    },
  };
}
