import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type NodeEdge, startNodeEdge } from '../../edge/src/entry-node.ts';
import { ConfigError, parseEdgeEnv } from '../../edge/src/env.ts';
import { freePort } from '../harness/ports.ts';
import { testSecretKey } from '../harness/test-app.ts';

/** The Node edge in this process on embedded PGlite, with or without metrics. */
const dirs: string[] = [];
const edges: NodeEdge[] = [];
async function nodeEdge(env: Record<string, string>): Promise<NodeEdge> {
  const dir = mkdtempSync(join(tmpdir(), 'keel-metrics-switch-'));
  dirs.push(dir);
  const edge = await startNodeEdge({
    REDIS_URL: process.env.KEEL_TEST_REDIS_URL!,
    KEEL_SECRET_KEY: testSecretKey(),
    KEEL_DATA_DIR: dir,
    PORT: '0',
    KEEL_REDIS_PREFIX: `keel-switch-${process.pid}-${dirs.length}:`,
    ...env,
  });
  edges.push(edge);
  return edge;
}

after(async () => {
  for (const edge of edges) await edge.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const base = (edge: NodeEdge) => `http://127.0.0.1:${edge.port}`;

test('metrics off (KEEL_METRICS_PORT unset or empty): no endpoint, nothing recorded', async () => {
  const edge = await nodeEdge({ KEEL_METRICS_PORT: '' });
  assert.equal(edge.metricsUrl, undefined);
  assert.equal(edge.services.services.metrics.enabled, false);
  assert.equal((await fetch(`${base(edge)}/readyz`)).status, 200);
  // Not served on the API's own port either.
  const res = await fetch(`${base(edge)}/metrics`);
  assert.ok(!(res.headers.get('content-type') ?? '').includes('version=0.0.4'));
  await res.body?.cancel();
});

test('metrics on with PGlite: queries timed by operation, a pool of one, loopback by default', async () => {
  const port = await freePort();
  const edge = await nodeEdge({ KEEL_METRICS_PORT: String(port) });
  assert.equal(edge.metricsUrl, `http://127.0.0.1:${port}/metrics`);
  const signup = await fetch(`${base(edge)}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'm@example.com', password: 'correct horse battery', name: 'M' }),
  });
  assert.equal(signup.status, 201);
  await fetch(`${base(edge)}/api/workspaces/ws_doesnotexist0000000000`).then((r) => r.body?.cancel());
  // No token set: any scrape is answered.
  const text = await (await fetch(edge.metricsUrl!)).text();
  const value = (series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : undefined;
  };
  assert.ok((value('keel_db_query_duration_seconds_count{operation="select"}') ?? 0) > 0, text);
  assert.ok((value('keel_db_query_duration_seconds_count{operation="insert"}') ?? 0) > 0);
  assert.equal(
    value('keel_db_pool_connections{state="in_use"}')! + value('keel_db_pool_connections{state="idle"}')!,
    1,
  );
  assert.equal(value('keel_http_requests_total{route="/api/auth/signup",method="POST",status="201"}'), 1);
  assert.equal(value('keel_http_requests_total{route="/api/workspaces/:id",method="GET",status="401"}'), 1);
  assert.ok(!text.includes('ws_doesnotexist'));
});

test('the metrics settings are checked at start', () => {
  const env = { REDIS_URL: 'redis://127.0.0.1:1', KEEL_SECRET_KEY: testSecretKey() };
  assert.equal(parseEdgeEnv(env).metrics, undefined);
  assert.deepEqual(parseEdgeEnv({ ...env, KEEL_METRICS_PORT: '9464' }).metrics, {
    port: 9464,
    host: '127.0.0.1',
    token: undefined,
  });
  assert.equal(parseEdgeEnv(env).auditVerifyIntervalSeconds, 3600);
  assert.throws(() => parseEdgeEnv({ ...env, KEEL_METRICS_PORT: 'nine' }), ConfigError);
  assert.throws(() => parseEdgeEnv({ ...env, KEEL_METRICS_PORT: '70000' }), ConfigError);
  assert.throws(
    () => parseEdgeEnv({ ...env, KEEL_METRICS_PORT: '9464', KEEL_METRICS_TOKEN: 'short' }),
    ConfigError,
  );
  assert.throws(() => parseEdgeEnv({ ...env, KEEL_AUDIT_VERIFY_INTERVAL_SECONDS: '0' }), ConfigError);
});
