/**
 * keel_runner_connection_tests_total: the runner's `server.test` handler and its periodic
 * resource collection count each connection to a server by kind, check, outcome and code,
 * through the process's metrics recorder. The failures are real ones: a real sshd refusing a
 * key it does not know, a TCP service that does not speak TLS, a closed port. Only the
 * successes use stand-in probes (a working engine is the connection tests' own business).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ConnectionTestResult, ServerAccess } from '@keel/contract/servers';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { Redis } from 'ioredis';
import { testServer } from '../../runners/src/handlers/servers.ts';
import { PromRecorder } from '../../runners/src/metrics/prom-recorder.ts';
import { NO_METRICS, useRecorder } from '../../runners/src/metrics/recorder.ts';
import { buildRunnerRegistry, type RunnerMetrics } from '../../runners/src/metrics/registry.ts';
import type { RunnerContext } from '../../runners/src/runner-context.ts';
import { ServerAccessError } from '../../runners/src/servers/access.ts';
import { remoteServerProbes, type ServerProbes } from '../../runners/src/servers/probes.ts';
import { collectServerResources } from '../../runners/src/servers/resources.ts';
import { makeCertificates, type TlsMaterial } from '../harness/docker-tls.ts';
import { testInfra } from '../harness/infra.ts';
import { freePort } from '../harness/ports.ts';
import { type SshdServer, startSshd } from '../harness/sshd.ts';

const LIMIT_MS = 4000;
const RUNNER_ID = 'run_connmetrics';
const SERVER_ID = 'srv_connmetrics';

/** The counter's value for these labels (0 when the child was never made). */
async function count(
  metrics: RunnerMetrics,
  labels: { kind: string; check: string; outcome: string; code: string },
): Promise<number> {
  const { values } = await metrics.keel_runner_connection_tests_total.get();
  const found = values.find((v) =>
    Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want),
  );
  return found?.value ?? 0;
}

/** The part of a runner's context the `server.test` handler reads. */
function contextFor(serverAccess: () => Promise<ServerAccess>, probes: ServerProbes = remoteServerProbes) {
  return {
    credential: { runnerId: RUNNER_ID },
    serverAccess,
    serverOptions: { probes, probeTimeoutMs: LIMIT_MS },
    workspaceImage: 'keel-workspace:bookworm',
  } as unknown as RunnerContext;
}

const job = { v: CONTRACT_VERSION, type: 'server.test', serverId: SERVER_ID } as const;

const okResult = (): ConnectionTestResult => ({
  ok: true,
  message: 'connected',
  at: new Date().toISOString(),
  durationMs: 1,
  runnerId: RUNNER_ID,
  reachable: true,
  authenticated: true,
});

describe('connection test metrics (real sshd, real sockets, real Redis)', () => {
  let metrics: RunnerMetrics;
  let sshd: SshdServer;
  let notTls: Server;
  let notTlsPort: number;
  let redis: Redis;
  let tls: TlsMaterial;
  const dir = mkdtempSync(join(tmpdir(), 'keel-connmetrics-'));

  before(async () => {
    await makeCertificates(dir);
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    tls = { ca: read('ca.pem'), cert: read('client.pem'), key: read('client-key.pem') };
    const made = buildRunnerRegistry();
    metrics = made.metrics;
    useRecorder(new PromRecorder(made.metrics, 'none'));
    sshd = await startSshd();
    notTls = createServer((s) => s.end('HTTP/1.1 200 OK\r\n\r\n'));
    await new Promise<void>((r) => notTls.listen(0, '127.0.0.1', r));
    notTlsPort = (notTls.address() as { port: number }).port;
    redis = new Redis((await testInfra()).redisUrl, { maxRetriesPerRequest: null });
  });
  after(async () => {
    useRecorder(NO_METRICS);
    await sshd?.stop();
    notTls?.close();
    await redis?.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an SSH key the host does not know: one error, kind ssh, code auth_failed', async () => {
    const wrong = await sshd.otherKey();
    const result = await testServer(
      job,
      contextFor(async () => ({
        kind: 'ssh',
        id: SERVER_ID as never,
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        privateKey: wrong.privateKey,
        hostKey: sshd.hostKey.publicKey,
        storage: { kind: 'volume' },
      })),
    );
    assert.equal(result.ok, false);
    assert.equal(result.code, 'auth_failed', result.message);
    assert.equal(
      await count(metrics, { kind: 'ssh', check: 'test', outcome: 'error', code: 'auth_failed' }),
      1,
    );
    assert.equal(await count(metrics, { kind: 'ssh', check: 'test', outcome: 'ok', code: 'none' }), 0);
  });

  test('a Docker TLS endpoint that does not speak TLS: kind docker-tls, code tls_failed', async () => {
    const result = await testServer(
      job,
      contextFor(async () => ({
        kind: 'docker-tls',
        id: SERVER_ID as never,
        host: '127.0.0.1',
        port: notTlsPort,
        ...tls,
        storage: { kind: 'volume' },
      })),
    );
    assert.equal(result.ok, false);
    assert.equal(result.code, 'tls_failed', result.message);
    assert.equal(
      await count(metrics, { kind: 'docker-tls', check: 'test', outcome: 'error', code: 'tls_failed' }),
      1,
    );
  });

  test('access the edge would not give: kind unknown, code internal', async () => {
    const result = await testServer(
      job,
      contextFor(async () => {
        throw new ServerAccessError('refused', 'not assigned to this runner', 404);
      }),
    );
    assert.equal(result.code, 'internal');
    assert.equal(
      await count(metrics, { kind: 'unknown', check: 'test', outcome: 'error', code: 'internal' }),
      1,
    );
  });

  test('a test that passes counts as ok, code none (stand-in probe)', async () => {
    const probes: ServerProbes = { test: async () => okResult(), collect: remoteServerProbes.collect };
    const ssh = async (): Promise<ServerAccess> => ({
      kind: 'ssh',
      id: SERVER_ID as never,
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      privateKey: sshd.userKey.privateKey,
      hostKey: sshd.hostKey.publicKey,
      storage: { kind: 'volume' },
    });
    for (let i = 0; i < 2; i++) assert.equal((await testServer(job, contextFor(ssh, probes))).ok, true);
    assert.equal(await count(metrics, { kind: 'ssh', check: 'test', outcome: 'ok', code: 'none' }), 2);
    // The earlier failure is still counted once.
    assert.equal(
      await count(metrics, { kind: 'ssh', check: 'test', outcome: 'error', code: 'auth_failed' }),
      1,
    );
  });

  test('the periodic resource collection counts as check resources, by the kind of each server', async () => {
    const key = `keel-connmetrics-${process.pid}:server-resources`;
    const closedPort = await freePort();
    try {
      await collectServerResources({
        redis,
        key,
        runnerId: RUNNER_ID,
        image: 'keel-workspace:bookworm',
        assigned: async () => [
          { id: 'srv_closedport' as never, kind: 'docker-tls', updatedAt: new Date().toISOString() },
          { id: 'srv_wrongkey' as never, kind: 'ssh', updatedAt: new Date().toISOString() },
        ],
        access: async (serverId) =>
          serverId === 'srv_closedport'
            ? {
                kind: 'docker-tls',
                id: serverId as never,
                host: '127.0.0.1',
                port: closedPort,
                ...tls,
                storage: { kind: 'volume' },
              }
            : {
                kind: 'ssh',
                id: serverId as never,
                host: sshd.host,
                port: sshd.port,
                user: sshd.user,
                privateKey: (await sshd.otherKey()).privateKey,
                hostKey: sshd.hostKey.publicKey,
                storage: { kind: 'volume' },
              },
        probes: remoteServerProbes,
        timeoutMs: LIMIT_MS,
      });
      const written = await redis.hgetall(key);
      // Each server's report and its count agree: the same failure, the same code.
      const closed = JSON.parse(written.srv_closedport!) as { ok: boolean; code: string };
      assert.equal(closed.ok, false);
      assert.equal(closed.code, 'unreachable');
      assert.equal(JSON.parse(written.srv_wrongkey!).code, 'auth_failed');
      assert.equal(
        await count(metrics, { kind: 'docker-tls', check: 'resources', outcome: 'error', code: closed.code }),
        1,
      );
      assert.equal(
        await count(metrics, { kind: 'ssh', check: 'resources', outcome: 'error', code: 'auth_failed' }),
        1,
      );
      // The admin's tests are counted apart.
      assert.equal(
        await count(metrics, { kind: 'ssh', check: 'test', outcome: 'error', code: 'auth_failed' }),
        1,
      );
    } finally {
      await redis.del(key);
    }
  });

  test('every series carries only the bounded labels', async () => {
    const { values } = await metrics.keel_runner_connection_tests_total.get();
    assert.ok(values.length >= 5);
    for (const v of values) {
      assert.deepEqual(Object.keys(v.labels).sort(), ['check', 'code', 'kind', 'outcome']);
      assert.match(String(v.labels.kind), /^(ssh|docker-tls|kubernetes|unknown)$/);
      assert.match(String(v.labels.outcome), /^(ok|error)$/);
    }
  });
});
