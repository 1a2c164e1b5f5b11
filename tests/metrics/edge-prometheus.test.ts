import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { exportedSeriesNames } from '@keel/contract/metrics';
import { BENCH_ADMIN, type EdgeProcess, startEdgeProcess } from '../../bench/system.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { freshDatabaseUrl } from '../harness/migrated-postgres.ts';
import { freePort } from '../harness/ports.ts';
import { type PrometheusServer, startPrometheus } from '../harness/prometheus-server.ts';

/**
 * A real edge process (Node, PostgreSQL, Redis) with metrics on, scraped every second by
 * Debian's Prometheus, after a scripted workload through the API; the series are then found
 * through Prometheus's own HTTP API.
 */
const TOKEN = 'metrics-token-for-the-test-0123456789';
const LISTS = 6;

let edge: EdgeProcess;
let prometheus: PrometheusServer;
let metricsUrl: string;

const scrape = (headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
  fetch(metricsUrl, { headers });

before(async () => {
  const metricsPort = await freePort();
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  edge = await startEdgeProcess({
    redisUrl: process.env.KEEL_TEST_REDIS_URL!,
    env: {
      DATABASE_URL: await freshDatabaseUrl(),
      KEEL_METRICS_PORT: String(metricsPort),
      KEEL_METRICS_TOKEN: TOKEN,
      KEEL_AUDIT_VERIFY_INTERVAL_SECONDS: '5',
      // Low enough that the workload meets it; a refusal is one of the figures looked for.
      KEEL_RATE_LIMIT_PERSON_PER_MINUTE: '40',
      // A prefix of its own: the scheduled check's lock and verdicts are not another test's.
      KEEL_REDIS_PREFIX: `keel-metrics-${process.pid}:`,
    },
  });
  prometheus = await startPrometheus([
    { job: 'keel-edge', target: `127.0.0.1:${metricsPort}`, token: TOKEN },
  ]);

  // The workload: a failed sign-in, a sign-in, a runner registered (no process behind it), a
  // workspace asked for, lists, a path no route has, a token that is no one's, then lists until
  // the person's limit refuses one.
  const anonymous = new BrowserClient(edge.http);
  const failed = await anonymous.request('POST', '/api/auth/login', {
    email: BENCH_ADMIN.email,
    password: 'not the password',
  });
  assert.equal(failed.status, 401);
  const admin = new BrowserClient(edge.http);
  const signedIn = await admin.request('POST', '/api/auth/login', {
    email: BENCH_ADMIN.email,
    password: BENCH_ADMIN.password,
  });
  assert.equal(signedIn.status, 200);
  const registered = await edge.http('/api/runners/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      token: edge.bootstrap,
      name: 'metrics-runner',
      capacity: { workspaces: 2, cpus: 2, memoryMb: 1024 },
      drivers: ['process'],
    }),
  });
  assert.equal(registered.status, 201, await registered.clone().text());
  const created = await admin.request('POST', '/api/workspaces', { name: 'metrics' }, { bearer: true });
  assert.ok(created.status < 500, JSON.stringify(created.body));
  for (let i = 0; i < LISTS; i++) {
    const r = await admin.request('GET', '/api/workspaces', undefined, { bearer: true });
    assert.equal(r.status, 200);
  }
  assert.equal((await edge.http('/api/no-such-thing/abc123')).status, 404);
  const stranger = await edge.http('/api/workspaces', {
    headers: { authorization: `Bearer keel_pat_${'x'.repeat(40)}` },
  });
  assert.equal(stranger.status, 401);
  let refused = false;
  for (let i = 0; i < 100 && !refused; i++) {
    const r = await admin.request('GET', '/api/workspaces', undefined, { bearer: true });
    refused = r.status === 429;
  }
  assert.ok(refused, 'the person limit refused a request');
});

after(async () => {
  await prometheus?.stop();
  await edge?.edge.stop();
  if (edge) rmSync(edge.dir, { recursive: true, force: true });
});

const one = (samples: Array<{ value: number }>) => samples.reduce((a, s) => a + s.value, 0);

test('Prometheus scrapes the edge and finds the requests by route template, method and status', async () => {
  await prometheus.waitFor('up{job="keel-edge"} == 1');
  const lists = await prometheus.waitFor(
    'keel_http_requests_total{route="/api/workspaces",method="GET",status="200"}',
    (s) => one(s) >= LISTS,
  );
  assert.ok(one(lists) >= LISTS);
  const latency = await prometheus.waitFor(
    'keel_http_request_duration_seconds_count{route="/api/workspaces",method="GET"}',
    (s) => one(s) >= LISTS,
  );
  assert.ok(one(latency) >= LISTS);
  const p99 = await prometheus.query(
    'histogram_quantile(0.99, sum by (le) (keel_http_request_duration_seconds_bucket{route="/api/workspaces"}))',
  );
  assert.ok(p99[0]!.value > 0 && p99[0]!.value < 30, `p99 ${p99[0]?.value}`);
  await prometheus.waitFor(
    'keel_http_requests_total{route="/api/auth/login",method="POST",status="401"} >= 1',
  );
  await prometheus.waitFor(
    'keel_http_requests_total{route="/api/workspaces",method="GET",status="429"} >= 1',
  );
});

test('no route label holds a path: a path no route has is "unmatched"', async () => {
  await prometheus.waitFor('keel_http_requests_total{route="unmatched",status="404"} >= 1');
  const routes = await prometheus.query('count by (route) (keel_http_requests_total)');
  for (const { metric } of routes) {
    assert.ok(
      metric.route === 'unmatched' || metric.route === 'web' || /^\/[A-Za-z0-9/:_.-]*$/.test(metric.route!),
      metric.route,
    );
    assert.ok(!metric.route!.includes('no-such-thing'), metric.route);
    assert.ok(!/[0-9a-f]{8,}/i.test(metric.route!), `an id in ${metric.route}`);
  }
});

test('sign-in failures by method, refusals by scope, cache reads', async () => {
  await prometheus.waitFor('keel_sign_in_failures_total{method="password"} >= 1');
  await prometheus.waitFor('keel_sign_in_failures_total{method="token"} >= 1');
  await prometheus.waitFor('keel_rate_limit_refusals_total{scope="person"} >= 1');
  const reads = await prometheus.waitFor('sum(keel_cache_requests_total{cache="key_reads"}) > 0');
  assert.ok(one(reads) > 0);
  await prometheus.waitFor('keel_cache_requests_total{cache="workspace_list",result="hit"} >= 1');
});

test('Redis and database calls, and the pool', async () => {
  await prometheus.waitFor('keel_redis_command_duration_seconds_count{command="mget"} > 0');
  await prometheus.waitFor('sum(keel_redis_command_duration_seconds_count) > 10');
  await prometheus.waitFor('keel_db_query_duration_seconds_count{operation="select"} > 0');
  await prometheus.waitFor('keel_db_query_duration_seconds_count{operation="insert"} > 0');
  const pool = await prometheus.waitFor('keel_db_pool_connections', (s) => s.length === 3);
  const total = one(pool.filter((s) => s.metric.state !== 'waiting'));
  assert.equal(total, 10, JSON.stringify(pool));
  await prometheus.waitFor('keel_redis_errors_total', () => true);
  // No stream is open after the workload; both kinds are exported from the start, at zero.
  const streams = await prometheus.waitFor('keel_http_open_streams', (x) => x.length === 2);
  assert.deepEqual(streams.map((x) => [x.metric.kind, x.value]).sort(), [
    ['sse', 0],
    ['websocket', 0],
  ]);
});

test('runner heartbeat age by runner and server, and the scheduled audit check', async () => {
  const ages = await prometheus.waitFor('keel_runner_heartbeat_age_seconds{runner="metrics-runner"}');
  assert.equal(ages[0]!.metric.server, 'host');
  assert.ok(ages[0]!.value >= 0 && ages[0]!.value < 600, String(ages[0]!.value));
  const verified = await prometheus.waitFor('keel_audit_chain_verified', (s) => s.length >= 1, 30_000);
  assert.ok(
    verified.every((s) => s.value === 1),
    JSON.stringify(verified),
  );
  const checked = await prometheus.query('keel_audit_chain_last_check_timestamp_seconds');
  assert.ok(checked.every((s) => Math.abs(s.value - Date.now() / 1000) < 120));
});

test('every exported name is in the contract', async () => {
  const names = await (await fetch(`${prometheus.url}/api/v1/label/__name__/values`)).json();
  const known = exportedSeriesNames();
  const ours = (names.data as string[]).filter((n) => n.startsWith('keel_'));
  assert.ok(ours.length >= 10);
  for (const name of ours) assert.ok(known.has(name), name);
});

test('the endpoint refuses a scrape without the token, or with another one', async () => {
  assert.equal((await scrape({})).status, 401);
  assert.equal((await scrape({ authorization: `Bearer ${TOKEN}x` })).status, 401);
  assert.equal((await scrape({ authorization: TOKEN })).status, 401);
  assert.equal((await scrape({ authorization: 'Bearer ' })).status, 401);
  const ok = await scrape();
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  assert.equal((await fetch(metricsUrl.replace('/metrics', '/other'))).status, 404);
  // Not on the API's port.
  const onApi = await edge.http('/metrics');
  assert.ok(!(onApi.headers.get('content-type') ?? '').includes('version=0.0.4'));
  await onApi.body?.cancel();
});

test('promtool check metrics accepts the scraped text', async () => {
  const text = await (await scrape()).text();
  const dir = mkdtempSync(join(tmpdir(), 'keel-promtool-'));
  try {
    const file = join(dir, 'metrics.txt');
    writeFileSync(file, text);
    // promtool reads the text on stdin; lint problems (names, units) go to stdout with exit 3.
    const run = promisify(execFile);
    const result = await run('sh', ['-c', `promtool check metrics < ${JSON.stringify(file)}`]).catch(
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    assert.equal('code' in result ? result.code : 0, 0, `${result.stdout}${result.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
