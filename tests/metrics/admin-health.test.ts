/**
 * The Health report against two Node edges on one PostgreSQL and one Redis: requests sent to
 * both, a scripted mix of 2xx and 5xx, are added into the same per-minute figures, and the
 * report's error rate and p99 come from them; the fleet part is the asking organization's only;
 * bad queries are 422 and a developer is refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { HealthReport } from '@keel/contract/health';
import { bullPrefixOf, runnerKeys, runnerQueueName } from '@keel/contract/keys';
import { memberships, organizations, servers, users, workspaces } from '@keel/drizzle/schema';
import { Queue } from 'bullmq';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { type NodeEdge, startNodeEdge } from '../../edge/src/entry-node.ts';
import { newId } from '../../edge/src/ids.ts';
import { verifyChainsOnce } from '../../edge/src/metrics/audit-schedule.ts';
import {
  minuteOf,
  quantileSeconds,
  readRequestMinutes,
  sumMinutes,
} from '../../edge/src/metrics/request-minutes.ts';
import { bucketOf, RequestStats } from '../../edge/src/metrics/request-stats.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { freshDatabaseUrl } from '../harness/migrated-postgres.ts';
import { GENEROUS_REQUEST_LIMITS, testSecretKey } from '../harness/test-app.ts';

const PASSWORD = 'correct horse battery staple';
const BOOTSTRAP = 'bootstrap-token-for-shared-runners-0123456789';
const OK_REQUESTS = 24;
const FAILING_REQUESTS = 6;

describe('admin health over two Node edges', () => {
  const edges: NodeEdge[] = [];
  const dirs: string[] = [];
  const queues: Queue[] = [];
  const prefix = `keel-health-${process.pid}:`;
  /** Every request this test sent, per edge, and the 5xx answers among them. */
  const sent = [0, 0];
  let fiveHundreds = 0;
  let turn = 0;
  let admin: BrowserClient;
  let developer: BrowserClient;
  let outsider: BrowserClient;
  let orgA: string;
  let adminId: string;
  let runnersA: string[] = [];

  /** Round robin over both edges, counting what was sent and what came back 5xx. */
  const http = async (path: string, init?: RequestInit) => {
    const i = turn++ % 2;
    sent[i]!++;
    const res = await fetch(new URL(path, `http://127.0.0.1:${edges[i]!.port}`), init);
    if (res.status >= 500) fiveHundreds++;
    return res;
  };
  const services = () => edges[0]!.services.services;
  const db = () => services().db;

  async function register(token: string, name: string): Promise<string> {
    const res = await http('/api/runners/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        token,
        name,
        capacity: { workspaces: 4, cpus: 2, memoryMb: 2048 },
        drivers: ['process'],
      }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as { runnerId: string }).runnerId;
  }

  async function runnerOf(client: BrowserClient, name: string): Promise<string> {
    const token = await client.request('POST', '/api/admin/runner-tokens', { name }, { bearer: true });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    return register(token.body.token, name);
  }

  async function beat(runnerId: string, ageSeconds = 0): Promise<void> {
    await services()
      .redis()
      .set(
        runnerKeys(prefix, runnerId).heartbeat,
        JSON.stringify({
          v: 1,
          runnerId,
          at: new Date(Date.now() - ageSeconds * 1000).toISOString(),
          version: '0.0.0',
          driver: 'process',
          cpus: 2,
          load: [0, 0, 0],
          memory: { totalMb: 2048, freeMb: 1024 },
          disk: { totalMb: 10_000, freeMb: 9_000 },
          workspacesRunning: 0,
          gpus: [],
        }),
        'EX',
        60,
      );
  }

  async function workspace(organizationId: string, ownerId: string, runnerId: string, status: string) {
    const now = new Date();
    const [row] = await db()
      .insert(workspaces)
      .values({
        id: newId('workspace'),
        organizationId,
        ownerId,
        name: `w-${status}`,
        source: { type: 'empty' },
        resources: { cpus: 1, memoryMb: 512 },
        runnerId,
        driver: 'process',
        status,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    return row!;
  }

  const health = (client: BrowserClient, query = '') =>
    client.request('GET', `/api/admin/health${query}`, undefined, { bearer: true });

  before(async () => {
    const databaseUrl = await freshDatabaseUrl();
    const secret = testSecretKey();
    for (let i = 0; i < 2; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'keel-health-'));
      dirs.push(dir);
      edges.push(
        await startNodeEdge({
          REDIS_URL: process.env.KEEL_TEST_REDIS_URL!,
          DATABASE_URL: databaseUrl,
          KEEL_SECRET_KEY: secret,
          KEEL_DATA_DIR: dir,
          PORT: '0',
          KEEL_REDIS_PREFIX: prefix,
          KEEL_REQUEST_LOG: 'false',
          KEEL_EDGE_STATS_FLUSH_SECONDS: '1',
          KEEL_RUNNER_BOOTSTRAP_TOKEN: BOOTSTRAP,
          ...GENEROUS_REQUEST_LIMITS,
        }),
      );
    }
    admin = new BrowserClient(http);
    const signup = await admin.request('POST', '/api/auth/signup', {
      email: 'health-owner@example.com',
      password: PASSWORD,
      name: 'Owner',
      organization: 'A',
    });
    assert.equal(signup.status, 201, JSON.stringify(signup.body));
    orgA = signup.body.organization.id;
    adminId = signup.body.user.id;

    const inv = await admin.request(
      'POST',
      `/api/orgs/${orgA}/invitations`,
      { role: 'developer', email: 'health-dev@example.com' },
      { bearer: true },
    );
    assert.equal(inv.status, 201, JSON.stringify(inv.body));
    developer = new BrowserClient(http);
    const dev = await developer.request('POST', '/api/auth/signup', {
      email: 'health-dev@example.com',
      password: PASSWORD,
      name: 'Dev',
      inviteToken: inv.body.token,
    });
    assert.equal(dev.status, 201, JSON.stringify(dev.body));

    const now = new Date();
    const orgB = newId('organization');
    const userB = newId('user');
    await db().insert(organizations).values({ id: orgB, name: 'B', createdAt: now });
    await db()
      .insert(users)
      .values({
        id: userB,
        email: 'health-outsider@example.org',
        name: 'Outsider',
        passwordHash: await hashPassword(PASSWORD),
        createdAt: now,
      });
    await db()
      .insert(memberships)
      .values({ userId: userB, organizationId: orgB, role: 'super_admin', createdAt: now });
    outsider = new BrowserClient(http);
    const login = await outsider.request('POST', '/api/auth/login', {
      email: 'health-outsider@example.org',
      password: PASSWORD,
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));

    // A: two runners of its own (one live, its heartbeat 3 s old) and the shared one; B: one.
    runnersA = [await runnerOf(admin, 'a-1'), await runnerOf(admin, 'a-2')];
    const shared = await register(BOOTSTRAP, 'shared');
    const foreign = await runnerOf(outsider, 'b-1');
    await beat(runnersA[0]!, 3);
    await beat(foreign);
    void shared;
    await workspace(orgA, adminId, runnersA[0]!, 'running');
    await workspace(orgA, adminId, runnersA[0]!, 'running');
    await workspace(orgA, adminId, runnersA[1]!, 'stopped');
    await workspace(orgB, userB, foreign, 'running');
    await db()
      .insert(servers)
      .values({
        id: newId('server'),
        organizationId: orgA,
        name: 'docker-1',
        kind: 'ssh',
        labels: {},
        capacity: { workspaces: 4 },
        storage: {},
        endpoint: {},
        credentialSealed: 'x',
        credentialFingerprint: 'x',
        status: 'ready',
      });
    // A job waits in A's runner queue (no runner process takes it).
    const q = new Queue(runnerQueueName(runnersA[1]!), {
      connection: services().redis(),
      prefix: bullPrefixOf(prefix),
    });
    queues.push(q);
    await q.add('noop', { v: 1 });
    await verifyChainsOnce(services(), 5);
  });

  after(async () => {
    for (const q of queues) await q.close();
    for (const edge of edges) await edge.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('both edges add into the same minutes; error rate and p99 come from them', async () => {
    // The offline runner's workspace: a command for it is refused at once with 503.
    const offline = await workspace(orgA, adminId, runnersA[1]!, 'running');
    for (let i = 0; i < OK_REQUESTS; i++) assert.equal((await http('/healthz')).status, 200);
    for (let i = 0; i < FAILING_REQUESTS; i++) {
      const r = await admin.request(
        'POST',
        `/api/workspaces/${offline.id}/execute`,
        { command: 'true' },
        { bearer: true },
      );
      assert.ok(r.status >= 500, `${r.status} ${JSON.stringify(r.body)}`);
    }
    assert.ok(sent[0]! > 0 && sent[1]! > 0);
    const total = sent[0]! + sent[1]!;
    // Both edges flush every second.
    const deadline = Date.now() + 10_000;
    let minutes = await readRequestMinutes(
      services().redis(),
      services(),
      minuteOf(Date.now()) - 14,
      minuteOf(Date.now()),
    );
    while (sumMinutes(minutes).requests < total && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      minutes = await readRequestMinutes(
        services().redis(),
        services(),
        minuteOf(Date.now()) - 14,
        minuteOf(Date.now()),
      );
    }
    const sum = sumMinutes(minutes);
    assert.equal(sum.requests, total, 'every request of both edges is counted once');
    assert.equal(sum.errors, fiveHundreds);
    assert.ok(fiveHundreds >= FAILING_REQUESTS);
    assert.equal(
      sum.buckets.reduce((a, b) => a + b, 0),
      total,
    );

    const report = await health(admin);
    assert.equal(report.status, 200, JSON.stringify(report.body));
    const r = report.body as HealthReport;
    assert.equal(r.requests.minutes.length, 15);
    assert.equal(r.requests.requests, total);
    assert.equal(r.requests.errorRate, fiveHundreds / total);
    const p99 = quantileSeconds(sum.buckets, 0.99)!;
    assert.equal(r.requests.p99Ms, Math.round(p99 * 10_000) / 10);
    assert.ok(r.requests.p99Ms! > 0 && r.requests.p99Ms! <= 30_000);
    assert.equal(
      r.requests.minutes.reduce((a, m) => a + m.errors, 0),
      fiveHundreds,
    );
    const busy = r.requests.minutes.filter((m) => m.requests > 0);
    for (const m of busy) assert.ok(m.p50Ms !== null && m.p99Ms !== null && m.p50Ms <= m.p99Ms);
    for (const m of r.requests.minutes.filter((x) => x.requests === 0)) assert.equal(m.p99Ms, null);

    // The report's own request is counted too, once flushed.
    const counted = total + 1;
    const until = Date.now() + 10_000;
    let again = 0;
    while (again < counted && Date.now() < until) {
      await new Promise((res) => setTimeout(res, 200));
      again = sumMinutes(
        await readRequestMinutes(
          services().redis(),
          services(),
          minuteOf(Date.now()) - 14,
          minuteOf(Date.now()),
        ),
      ).requests;
    }
    assert.equal(again, counted);
  });

  test('the fleet part is the asking organization’s: runners incl. shared, servers, workspaces, queues', async () => {
    const a = (await health(admin)).body as HealthReport;
    assert.deepEqual(a.runners.total, 3);
    assert.equal(a.runners.online, 1);
    assert.ok(a.runners.maxHeartbeatAgeSeconds! >= 2 && a.runners.maxHeartbeatAgeSeconds! < 60);
    assert.deepEqual(a.servers, { total: 1, byState: { ready: 1 } });
    assert.equal(a.workspaces.byStatus.running, 3);
    assert.equal(a.workspaces.byStatus.stopped, 1);
    const jobs = a.queues.find((q) => q.name === 'jobs')!;
    assert.equal(jobs.waiting, 1);
    assert.ok(jobs.oldestWaitingSeconds !== null && jobs.oldestWaitingSeconds < 120);
    assert.ok(a.queues.some((q) => q.name === 'calls'));
    assert.equal(a.auditChain?.ok, true);

    const b = await health(outsider);
    assert.equal(b.status, 200);
    const rb = b.body as HealthReport;
    assert.equal(rb.runners.total, 2, 'its own runner and the shared one');
    assert.equal(rb.runners.online, 1);
    assert.deepEqual(rb.servers, { total: 0, byState: {} });
    assert.deepEqual(rb.workspaces.byStatus, { running: 1 });
    assert.equal(rb.queues.find((q) => q.name === 'jobs')!.waiting, 0);
    // The request figures are the install's edges', the same for every organization.
    assert.ok(rb.requests.requests > 0);
  });

  test('a developer is refused; bad queries are 422 with the error shape', async () => {
    const refused = await health(developer);
    assert.equal(refused.status, 403);
    assert.equal(typeof refused.body.error.code, 'string');
    const anonymous = await new BrowserClient(http).request('GET', '/api/admin/health');
    assert.equal(anonymous.status, 401);
    for (const q of ['?minutes=0', '?minutes=181', '?minutes=abc', '?minutes=1.5', '?other=1']) {
      const r = await health(admin, q);
      assert.equal(r.status, 422, `${q}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'validation_failed');
      assert.equal(typeof r.body.error.message, 'string');
      assert.equal(typeof r.body.error.requestId, 'string');
    }
    const short = await health(admin, '?minutes=3');
    assert.equal(short.status, 200);
    assert.equal((short.body as HealthReport).requests.minutes.length, 3);
  });
});

describe('request figures in memory', () => {
  test('a bucket is the first bound at or above the time; the last is for slower than all', () => {
    assert.equal(bucketOf(0), 0);
    assert.equal(bucketOf(0.0005), 0);
    assert.equal(bucketOf(0.0006), 1);
    assert.equal(bucketOf(30), 14);
    assert.equal(bucketOf(31), 15);
  });

  test('p99 and p50 interpolate within the bucket, as histogram_quantile does', () => {
    const buckets = new Array(16).fill(0);
    buckets[2] = 99; // (1 ms, 2.5 ms]
    buckets[11] = 1; // (1 s, 2.5 s]
    assert.equal(quantileSeconds(buckets, 0.99), 0.0025);
    assert.ok(Math.abs(quantileSeconds(buckets, 0.5)! - (0.001 + 0.0015 * (50 / 99))) < 1e-12);
    buckets[11] = 10;
    // rank 107.91 of 109: in (1 s, 2.5 s], 8.91 of its 10.
    assert.ok(Math.abs(quantileSeconds(buckets, 0.99)! - (1 + 1.5 * 0.891)) < 1e-9);
    assert.equal(quantileSeconds(new Array(16).fill(0), 0.99), null);
    const slow = new Array(16).fill(0);
    slow[15] = 3;
    assert.equal(quantileSeconds(slow, 0.99), 30);
  });

  test('minutes roll over and a failed flush keeps its counts for the next', async () => {
    let now = Date.UTC(2026, 0, 1, 12, 0, 30);
    const stats = new RequestStats(() => now);
    stats.record(200, 0.002);
    now += 60_000;
    stats.record(503, 0.2);
    assert.ok(stats.pending);
    const failing = {
      pipeline: async () => {
        throw new Error('down');
      },
    };
    const warn = console.error;
    console.error = () => {};
    try {
      await stats.flush(failing as never, { config: { redisPrefix: 'x:' } });
    } finally {
      console.error = warn;
    }
    assert.ok(stats.pending, 'kept for the next flush');
    const calls: unknown[][] = [];
    const recording = {
      pipeline: async (commands: unknown[][]) => {
        for (const [name, ...args] of commands) calls.push([String(name).toLowerCase(), ...args]);
        return commands.map(() => 1);
      },
    };
    await stats.flush(recording as never, { config: { redisPrefix: 'x:' } });
    assert.ok(!stats.pending);
    const m0 = Math.floor(Date.UTC(2026, 0, 1, 12, 0) / 60_000);
    assert.deepEqual(
      calls.filter((c) => c[1] === `x:edge-stats:${m0}`).map((c) => c.slice(2)),
      [['requests', 1], ['sum_us', 2000], ['b2', 1], [4 * 3600]],
    );
    assert.deepEqual(
      calls.filter((c) => c[1] === `x:edge-stats:${m0 + 1}`).map((c) => c.slice(2)),
      [['requests', 1], ['errors', 1], ['sum_us', 200000], ['b8', 1], [4 * 3600]],
    );
  });
});
