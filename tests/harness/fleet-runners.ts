/*
 * Three (or more) runners on one machine as separate hosts would be: each a real `keel-runner`
 * process with its own data folder, all registered with one real edge on a loopback port and
 * sharing one snapshot folder (KEEL_SNAPSHOT_DIR, the folder store). A runner can be killed
 * with SIGKILL (its whole process group, as a host that dies takes everything on it) and
 * started again with the credential it saved. Docker runners share this machine's one engine,
 * whose container names are per workspace: at most one Docker runner per fleet.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRunnerEnv } from '../../runners/src/env.ts';
import { defaultProcessRoot } from '../../runners/src/process-root.ts';
import { loadCredential } from '../../runners/src/registration.ts';
import { DockerDriver } from '../../runners/src/workloads/docker.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import type { WorkloadDriver } from '../../runners/src/workloads/types.ts';
import { ensureDockerAndImage } from '../runner/docker-helper.ts';
import type { BrowserClient } from './browser-client.ts';
import { type EdgeOnPort, edgeOnPort } from './edge-on-port.ts';
import { testInfra } from './infra.ts';
import { waitFor } from './ports.ts';
import { removeProcessWorkspaces } from './process-workspaces.ts';
import { type Spawned, spawnService } from './processes.ts';

const root = new URL('../..', import.meta.url).pathname;

export type FleetDriver = 'process' | 'docker';

export interface FleetRunner {
  name: string;
  kind: FleetDriver;
  id: string;
  dataDir: string;
  /** The driver of this host as the runner makes it, to look at its workloads from outside. */
  driver: WorkloadDriver;
  alive(): boolean;
  /** SIGKILL to the runner and everything it started: the host is gone. */
  kill(): Promise<void>;
  /** Starts it again (its saved credential) and waits until it is online. */
  start(): Promise<void>;
  output(): string;
  /** The credential it saved at registration (to call the edge as this runner would). */
  credential(): Promise<string>;
}

export interface FleetRunners {
  edge: EdgeOnPort;
  admin: BrowserClient;
  snapshotDir: string;
  lostAfterSeconds: number;
  runners: FleetRunner[];
  runnerById(id: string): FleetRunner;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /**
   * Creates a workspace, small by default (a quarter CPU, 256 MB): placement counts what
   * workspaces ask for against the host's CPUs, and the three runners share one small host.
   */
  createWorkspace(name: string, body?: Record<string, unknown>): Promise<string>;
  workspace(id: string): Promise<any>;
  writeFile(id: string, path: string, content: string): Promise<void>;
  readFile(id: string, path: string): Promise<string>;
  /** Turns a drain of `r` on or off; answers its progress. */
  drain(r: FleetRunner, on: boolean): Promise<any>;
  /**
   * Every workspace created in `work` goes to `to`: the others drain meanwhile, so call it while
   * nothing is on them (their workspaces would move).
   */
  onlyOn<T>(to: FleetRunner, work: () => Promise<T>): Promise<T>;
  /** Takes a snapshot of the workspace now and waits until it is ready; its id. */
  snapshotNow(id: string): Promise<string>;
  /** Calls the edge as runner `r` does, with its saved credential. */
  runnerCall(r: FleetRunner, path: string, body: unknown): Promise<Response>;
  /** Waits for the status (failing fast on `failed`), polling every 100 ms. */
  waitForStatus(
    id: string,
    status: string,
    timeoutMs?: number,
  ): Promise<{ status: string; reason: string | null }>;
  close(): Promise<void>;
}

export async function startFleetRunners(
  options: {
    /** One per runner: `['docker', 'process', 'process']` keeps one engine's names to one runner. */
    kinds?: FleetDriver[];
    lostAfterSeconds?: number;
    edgeEnv?: Record<string, string>;
    runnerEnv?: Record<string, string>;
  } = {},
): Promise<FleetRunners> {
  const kinds = options.kinds ?? ['process', 'process', 'process'];
  if (kinds.includes('docker')) await ensureDockerAndImage();
  const count = kinds.length;
  const lostAfterSeconds = options.lostAfterSeconds ?? 4;
  const infra = await testInfra();
  const edge = await edgeOnPort({
    env: { KEEL_RUNNER_LOST_AFTER_SECONDS: String(lostAfterSeconds), ...options.edgeEnv },
  });
  const admin = edge.admin;
  const api = (method: string, path: string, body?: unknown) =>
    admin.request(method, path, body, { bearer: true });
  const token = await api('POST', '/api/admin/runner-tokens', { name: 'fleet', maxUses: count });
  if (token.status !== 201) throw new Error(`runner token: ${JSON.stringify(token.body)}`);
  const snapshotDir = mkdtempSync(join(tmpdir(), 'keel-fleet-snapshots-'));
  chmodSync(snapshotDir, 0o711);

  const runners: FleetRunner[] = [];
  const spawned: Spawned[] = [];
  /** The process runners' workspace roots, emptied and removed at close. */
  const processRoots: string[] = [];
  for (const [i, kind] of kinds.entries()) {
    const name = `fleet-${i + 1}`;
    const dataDir = mkdtempSync(join(tmpdir(), `keel-fleet-${name}-`));
    chmodSync(dataDir, 0o711);
    const env = {
      ...process.env,
      KEEL_URL: edge.base,
      KEEL_RUNNER_TOKEN: token.body.token,
      KEEL_RUNNER_NAME: name,
      KEEL_RUNNER_DATA_DIR: dataDir,
      KEEL_RUNNER_DRIVER: kind,
      KEEL_RUNNER_LOCK_MS: '2000',
      KEEL_IDLE_STOP_SECONDS: '0',
      KEEL_RUNNER_ALLOW_LOCAL_GIT: 'true',
      KEEL_SNAPSHOT_DIR: snapshotDir,
      REDIS_URL: infra.redisUrl,
      ...options.runnerEnv,
    };
    const config = parseRunnerEnv(env);
    const processRoot = defaultProcessRoot(config);
    if (kind === 'process') processRoots.push(processRoot);
    const driver: WorkloadDriver =
      kind === 'docker' ? new DockerDriver() : new ProcessDriver({ root: processRoot });
    let proc: Spawned | undefined;
    const runner: FleetRunner = {
      name,
      kind,
      id: '',
      dataDir,
      driver,
      alive: () => !!proc && proc.child.exitCode === null && proc.child.signalCode === null,
      async kill() {
        if (!proc || !runner.alive()) return;
        const exited = new Promise((r) => proc!.child.once('exit', r));
        process.kill(-proc.child.pid!, 'SIGKILL');
        await exited;
      },
      async start() {
        proc = spawnService(process.execPath, [join(root, 'runners/bin/keel-runner.mjs')], env, root);
        spawned.push(proc);
        const seen = await waitFor(
          `runner ${name} online`,
          async () => {
            if (!runner.alive()) throw new Error(`runner ${name} exited:\n${proc!.output()}`);
            const list = await api('GET', '/api/admin/runners');
            const r = list.body.runners?.find(
              (x: { name: string; status: string }) => x.name === name && x.status === 'online',
            );
            return r ? (r.id as string) : undefined;
          },
          60_000,
          100,
        );
        runner.id = seen;
      },
      output: () => proc?.output() ?? '',
      async credential() {
        const saved = await loadCredential(config);
        if (!saved) throw new Error(`runner ${name} saved no credential`);
        return saved.credential;
      },
    };
    runners.push(runner);
  }
  // One at a time: they share one registration token, and the list tells them apart by name.
  for (const r of runners) await r.start();

  const fleet: FleetRunners = {
    edge,
    admin,
    snapshotDir,
    lostAfterSeconds,
    runners,
    runnerById(id) {
      const r = runners.find((x) => x.id === id);
      if (!r) throw new Error(`no runner ${id} in this fleet`);
      return r;
    },
    api,
    async createWorkspace(name, body = {}) {
      const res = await api('POST', '/api/workspaces', {
        name,
        resources: { cpus: 0.25, memoryMb: 256 },
        ...body,
      });
      if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    },
    async workspace(id) {
      return (await api('GET', `/api/workspaces/${id}`)).body;
    },
    async writeFile(id, path, content) {
      const res = await api('PUT', `/api/workspaces/${id}/files?path=${encodeURIComponent(path)}`, {
        content,
      });
      if (res.status !== 200) throw new Error(`write ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    },
    async readFile(id, path) {
      const res = await api('GET', `/api/workspaces/${id}/files?path=${encodeURIComponent(path)}`);
      if (res.status !== 200) throw new Error(`read ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.content as string;
    },
    async drain(r, on) {
      const res = await api('POST', `/api/admin/runners/${r.id}/drain`, { drain: on });
      if (res.status !== 200) throw new Error(`drain ${r.name}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.drain;
    },
    async onlyOn(to, work) {
      const others = runners.filter((r) => r !== to);
      for (const r of others) await fleet.drain(r, true);
      try {
        return await work();
      } finally {
        for (const r of others) await fleet.drain(r, false);
      }
    },
    async snapshotNow(id) {
      const res = await api('POST', `/api/workspaces/${id}/snapshots`, {});
      if (res.status !== 201 && res.status !== 202) {
        throw new Error(`snapshot of ${id}: ${res.status} ${JSON.stringify(res.body)}`);
      }
      const snapshotId = res.body.snapshot.id as string;
      await waitFor(
        `snapshot ${snapshotId} ready`,
        async () => {
          const list = await api('GET', `/api/workspaces/${id}/snapshots`);
          const found = list.body.snapshots?.find((x: { id: string }) => x.id === snapshotId);
          if (found?.status === 'failed') throw new Error(`snapshot ${snapshotId} failed: ${found.error}`);
          return found?.status === 'ready' || undefined;
        },
        60_000,
        100,
      );
      return snapshotId;
    },
    async runnerCall(r, path, body) {
      return edge.http(path, {
        method: 'POST',
        headers: { authorization: `Bearer ${await r.credential()}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    },
    async waitForStatus(id, status, timeoutMs = 60_000) {
      let last: unknown;
      const seen = await waitFor(
        `workspace ${id} to be ${status}`,
        async () => {
          const res = await api('GET', `/api/workspaces/${id}/status`);
          last = res.body;
          return res.body.status === status || res.body.status === 'failed' ? res.body : undefined;
        },
        timeoutMs,
        100,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; last seen ${JSON.stringify(last)}`);
      });
      if (seen.status !== status) throw new Error(`workspace ${id} failed: ${seen.reason}`);
      return seen;
    },
    async close() {
      const ids = new Set<string>();
      const list = await api('GET', '/api/workspaces').catch(() => undefined);
      for (const w of list?.body?.workspaces ?? []) ids.add(w.id);
      for (const p of spawned) await p.stop('SIGKILL').catch(() => {});
      // Only this fleet's workloads: other test files share the Docker engine. A process root
      // is emptied whole, with what the API no longer lists (deleted, or moved away).
      for (const r of runners) {
        if (r.kind !== 'docker') continue;
        for (const id of ids) await r.driver.remove(id, { keepData: false }).catch(() => {});
      }
      for (const processRoot of processRoots) await removeProcessWorkspaces(processRoot);
      await edge.close();
      for (const r of runners) rmSync(r.dataDir, { recursive: true, force: true });
      rmSync(snapshotDir, { recursive: true, force: true });
    },
  };
  return fleet;
}
