import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AiUsageQuery } from '@keel/contract/ai-jobs';
import { MyUsageQuery, UsageQuery } from '@keel/contract/usage';
import {
  aiDaySeries,
  bucketSeries,
  csvHref,
  dayBars,
  effectiveGranularity,
  formatAmount,
  formatHours,
  formatTokens,
  ranking,
  USAGE_PERIODS,
  usageQuery,
  usageWindow,
} from './usage-period.ts';

test('a period is a window the usage API accepts, ending now', () => {
  const now = new Date('2031-03-10T12:00:00Z');
  assert.deepEqual(usageWindow(7, now), {
    since: '2031-03-03T12:00:00.000Z',
    until: '2031-03-10T12:00:00.000Z',
  });
  for (const p of USAGE_PERIODS) assert.ok(AiUsageQuery.safeParse(usageWindow(p.days, now)).success);
  assert.equal(
    Date.parse(usageWindow(10_000, now).until) - Date.parse(usageWindow(10_000, now).since),
    366 * 86_400_000,
  );
});

test('day bars fill the days without calls and scale against the busiest', () => {
  const bars = dayBars(
    [
      { day: '2031-03-04', promptTokens: 10, completionTokens: 10 },
      { day: '2031-03-06', promptTokens: 5, completionTokens: 5 },
    ],
    '2031-03-03T12:00:00.000Z',
    '2031-03-06T12:00:00.000Z',
  );
  assert.deepEqual(
    bars.map((b) => [b.day, b.tokens, b.share]),
    [
      ['2031-03-03', 0, 0],
      ['2031-03-04', 20, 1],
      ['2031-03-05', 0, 0],
      ['2031-03-06', 10, 0.5],
    ],
  );
  assert.ok(dayBars([], '2031-03-03T00:00:00Z', '2031-03-04T00:00:00Z').every((b) => b.share === 0));
});

test('token counts read as people read them', () => {
  assert.equal(formatTokens(950), '950');
  assert.equal(formatTokens(1234), '1.23k');
  assert.equal(formatTokens(12_345), '12.3k');
  assert.equal(formatTokens(4_560_000), '4.56M');
});

test('the page’s filters become a query the usage API accepts; blanks are left out', () => {
  const now = new Date('2031-03-10T12:00:00Z');
  const q = usageQuery(
    { days: 7, granularity: 'hour', userId: ' u_1 ', team: '', workspaceId: undefined },
    now,
  );
  assert.deepEqual(q, {
    since: '2031-03-03T12:00:00.000Z',
    until: '2031-03-10T12:00:00.000Z',
    granularity: 'hour',
    userId: 'u_1',
  });
  assert.ok(UsageQuery.safeParse(q).success);
  for (const p of USAGE_PERIODS) {
    const query = usageQuery({ days: p.days, granularity: 'hour', team: 'Platform' }, now);
    // Hours are for windows of a month at most: longer ones fall back to days.
    assert.equal(query.granularity, p.days <= 31 ? 'hour' : 'day');
    assert.ok(UsageQuery.safeParse(query).success, `${p.days} days`);
  }
  assert.equal(effectiveGranularity(31, 'hour'), 'hour');
  assert.equal(effectiveGranularity(32, 'hour'), 'day');
  assert.equal(effectiveGranularity(7, 'day'), 'day');
});

test('the CSV link is the same query with format=csv, encoded, absent values left out', () => {
  const href = csvHref('/api/admin/usage', {
    since: '2031-03-03T12:00:00.000Z',
    until: '2031-03-10T12:00:00.000Z',
    granularity: 'day',
    team: 'R&D team',
    userId: undefined,
  });
  assert.equal(
    href,
    '/api/admin/usage?since=2031-03-03T12%3A00%3A00.000Z&until=2031-03-10T12%3A00%3A00.000Z&granularity=day&team=R%26D%20team&format=csv',
  );
  const query = Object.fromEntries(new URL(href, 'http://x').searchParams);
  assert.equal(query.team, 'R&D team');
  assert.ok(UsageQuery.safeParse(query).success);
  // A format already in the query is replaced, not repeated.
  const mine = csvHref('/api/me/usage', { granularity: 'hour', format: 'json' });
  assert.equal(mine, '/api/me/usage?granularity=hour&format=csv');
  assert.ok(MyUsageQuery.safeParse(Object.fromEntries(new URL(mine, 'http://x').searchParams)).success);
});

test('bucket series cover every hour or day of the window, quiet ones as 0', () => {
  const buckets = [
    { start: '2031-03-04T00:00:00.000Z', cpuSeconds: 7200, workspacesRunning: 2 },
    { start: '2031-03-06T00:00:00Z', cpuSeconds: 3600, workspacesRunning: 1 },
  ];
  const days = bucketSeries(
    buckets,
    { since: '2031-03-03T12:00:00.000Z', until: '2031-03-06T12:00:00.000Z', granularity: 'day' },
    [(b) => b.workspacesRunning, (b) => b.cpuSeconds / 3600],
  );
  assert.deepEqual(
    days.xs.map((x) => new Date(x * 1000).toISOString().slice(0, 10)),
    ['2031-03-03', '2031-03-04', '2031-03-05', '2031-03-06'],
  );
  assert.deepEqual(days.series, [
    [0, 2, 0, 1],
    [0, 2, 0, 1],
  ]);
  const hours = bucketSeries(
    [{ start: '2031-03-04T01:00:00Z', workspacesRunning: 3 }],
    { since: '2031-03-04T00:30:00Z', until: '2031-03-04T03:00:00Z', granularity: 'hour' },
    [(b) => b.workspacesRunning],
  );
  assert.deepEqual(
    hours.xs,
    [0, 1, 2].map((h) => Date.parse(`2031-03-04T0${h}:00:00Z`) / 1000),
  );
  assert.deepEqual(hours.series, [[0, 3, 0]]);
  // A window too long for its buckets is cut rather than drawn as thousands of points.
  const long = bucketSeries(
    [],
    { since: '2000-01-01T00:00:00Z', until: '2031-01-01T00:00:00Z', granularity: 'hour' },
    [() => 1],
  );
  assert.ok(long.xs.length <= 800);
});

test('AI day series: tokens are 0 on quiet days, latencies are gaps there', () => {
  const s = aiDaySeries(
    [
      {
        day: '2031-03-05',
        promptTokens: 100,
        completionTokens: 50,
        meanFirstTokenMs: 120,
        meanLatencyMs: 900,
      },
    ],
    '2031-03-04T10:00:00Z',
    '2031-03-06T10:00:00Z',
  );
  assert.equal(s.xs.length, 3);
  assert.deepEqual(s.tokens, [0, 150, 0]);
  assert.deepEqual(s.firstTokenMs, [null, 120, null]);
  assert.deepEqual(s.latencyMs, [null, 900, null]);
});

test('rankings put the largest first, drop zeros, cut at the limit and scale bars', () => {
  const rows = [
    { id: 'a', cpu: 10 },
    { id: 'b', cpu: 40 },
    { id: 'c', cpu: 0 },
    { id: 'd', cpu: 20 },
    { id: 'e', cpu: 20 },
  ];
  const r = ranking(rows, (row) => ({ key: row.id, label: row.id.toUpperCase(), value: row.cpu }), 3);
  assert.deepEqual(
    r.map((x) => [x.key, x.value, x.share]),
    [
      ['b', 40, 1],
      ['d', 20, 0.5],
      ['e', 20, 0.5],
    ],
  );
  assert.deepEqual(
    ranking([], () => ({ key: '', label: '', value: 0 })),
    [],
  );
});

test('amounts read as people read them', () => {
  assert.equal(formatHours(0), '0');
  assert.equal(formatHours(36), '0.01');
  assert.equal(formatHours(1), '<0.01');
  assert.equal(formatHours(5400), '1.5');
  assert.equal(formatAmount(1234.567), '1,235');
  assert.equal(formatAmount(42.25), '42.3');
});
