/**
 * Request figures where no process lives long: the edge in workerd (`wrangler dev`) counts its
 * requests and flushes them to Redis through waitUntil, the `keel-edge-stats` exporter serves
 * them, and Debian's Prometheus scrapes it (with the bearer token) and finds the series the
 * contract names.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { EDGE_STATS_METRICS, exportedSeriesNames } from '@keel/contract/metrics';
import { Redis } from 'ioredis';
import {
  type EdgeStatsExporter,
  startEdgeStatsExporter,
} from '../../edge/src/metrics/edge-stats-exporter.ts';
import { minuteOf, readRequestMinutes, sumMinutes } from '../../edge/src/metrics/request-minutes.ts';
import { freshDatabaseUrl } from '../harness/migrated-postgres.ts';
import { freePort } from '../harness/ports.ts';
import { type PrometheusServer, startPrometheus } from '../harness/prometheus-server.ts';
import { startWorkerdEdge, type WorkerdEdge } from '../harness/workerd-edge.ts';

const TOKEN = 'edge-stats-token-for-the-test-0123456789';
const REQUESTS = 12;
const prefix = `keel-edge-stats-${process.pid}:`;
const on = { config: { redisPrefix: prefix } };

let edge: WorkerdEdge;
let exporter: EdgeStatsExporter;
let prometheus: PrometheusServer;
let redis: Redis;

const counted = async () =>
  sumMinutes(await readRequestMinutes(redis, on, minuteOf(Date.now()) - 14, minuteOf(Date.now())));

before(async () => {
  redis = new Redis(process.env.KEEL_TEST_REDIS_URL!);
  edge = await startWorkerdEdge({
    redisUrl: process.env.KEEL_TEST_REDIS_URL!,
    databaseUrl: await freshDatabaseUrl(),
    redisPrefix: prefix,
    env: { KEEL_EDGE_STATS_FLUSH_SECONDS: '1' },
  });
  exporter = await startEdgeStatsExporter({
    REDIS_URL: process.env.KEEL_TEST_REDIS_URL,
    KEEL_REDIS_PREFIX: prefix,
    KEEL_EDGE_STATS_PORT: String(await freePort()),
    KEEL_METRICS_TOKEN: TOKEN,
  });
  prometheus = await startPrometheus([
    { job: 'keel-edge-stats', target: `127.0.0.1:${exporter.port}`, token: TOKEN },
  ]);
});

after(async () => {
  await prometheus?.stop();
  await exporter?.stop();
  await edge?.stop();
  redis?.disconnect();
});

test('the workerd edge flushes its counts to Redis, at most once per flush interval', async () => {
  const before = (await counted()).requests;
  for (let i = 0; i < REQUESTS; i++) assert.equal((await fetch(`${edge.base}/healthz`)).status, 200);
  const missing = await fetch(`${edge.base}/api/no-such-route`);
  await missing.body?.cancel();
  // A request after the interval carries the earlier counts out with it (its own go next time).
  const deadline = Date.now() + 20_000;
  let now = (await counted()).requests - before;
  while (now < REQUESTS + 1 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1_100));
    await (await fetch(`${edge.base}/healthz`)).body?.cancel();
    now = (await counted()).requests - before;
  }
  assert.ok(now >= REQUESTS + 1, `${now} counted of ${REQUESTS + 1}: ${edge.output().slice(-2000)}`);
  const sum = await counted();
  assert.equal(
    sum.buckets.reduce((a, b) => a + b, 0),
    sum.requests,
  );
  assert.equal(sum.errors, 0);
});

test('the exporter serves them; Prometheus scrapes it with the token and finds the contract’s names', async () => {
  await prometheus.waitFor('up{job="keel-edge-stats"} == 1');
  const samples = await prometheus.waitFor(
    'keel_edge_stats_requests_total',
    (s) => s.some((x) => x.value >= REQUESTS + 1),
    20_000,
  );
  assert.ok(samples[0]!.value >= REQUESTS + 1);
  await prometheus.waitFor('keel_edge_stats_request_duration_seconds_count', (s) =>
    s.some((x) => x.value >= REQUESTS),
  );
  const p99 = await prometheus.waitFor(
    'histogram_quantile(0.99, sum by (le) (keel_edge_stats_request_duration_seconds_bucket))',
  );
  assert.ok(p99[0]!.value > 0 && p99[0]!.value <= 30, String(p99[0]!.value));
  const last = await prometheus.query('keel_edge_stats_last_minute_timestamp_seconds');
  assert.ok(Math.abs(last[0]!.value - Date.now() / 1000) < 180);

  const names = await (await fetch(`${prometheus.url}/api/v1/label/__name__/values`)).json();
  const known = exportedSeriesNames();
  const ours = (names.data as string[]).filter((n) => n.startsWith('keel_'));
  for (const name of ours) assert.ok(known.has(name), name);
  for (const name of Object.keys(EDGE_STATS_METRICS))
    assert.ok(
      ours.some((n) => n === name || n.startsWith(`${name}_`)),
      `${name} is exported`,
    );

  // Counters only grow: a second scrape never goes below the first.
  const scrape = () =>
    fetch(exporter.url, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.text());
  const value = (text: string) => Number(/^keel_edge_stats_requests_total (\S+)$/m.exec(text)?.[1]);
  const first = value(await scrape());
  const second = value(await scrape());
  assert.ok(second >= first && first >= REQUESTS + 1);
  assert.equal((await fetch(exporter.url)).status, 401);
  assert.equal(
    (await fetch(exporter.url, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status,
    401,
  );
});
