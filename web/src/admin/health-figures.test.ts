import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chartRows, formatValue, scalesOf } from '../charts/time-chart-data.ts';
import { countsList, formatAge, formatPercent, requestChart } from './health-figures.ts';

describe('health figures', () => {
  test('ages, shares and counts read as people read them', () => {
    assert.equal(formatAge(4.2), '4 s');
    assert.equal(formatAge(600), '10 min');
    assert.equal(formatAge(3 * 3600 + 5 * 60), '3 h 5 min');
    assert.equal(formatPercent(0), '0 %');
    assert.equal(formatPercent(0.002), '0.20 %');
    assert.equal(formatPercent(0.2), '20.0 %');
    assert.deepEqual(countsList({ stopped: 1, running: 3, error: 0, ready: 1 }), [
      { name: 'running', count: 3 },
      { name: 'ready', count: 1 },
      { name: 'stopped', count: 1 },
    ]);
  });

  test('the request chart: requests and p99 per minute, and a sentence saying the same', () => {
    const chart = requestChart([
      { start: '2026-01-01T12:00:00.000Z', requests: 0, errors: 0, p50Ms: null, p99Ms: null },
      { start: '2026-01-01T12:01:00.000Z', requests: 40, errors: 1, p50Ms: 2, p99Ms: 9.5 },
      { start: '2026-01-01T12:02:00.000Z', requests: 10, errors: 0, p50Ms: 1, p99Ms: 20 },
    ]);
    assert.deepEqual(chart.x, [
      Date.UTC(2026, 0, 1, 12, 0),
      Date.UTC(2026, 0, 1, 12, 1),
      Date.UTC(2026, 0, 1, 12, 2),
    ]);
    assert.deepEqual(
      chart.series.map((s) => [s.label, s.unit, s.values]),
      [
        ['Requests', 'req/min', [0, 40, 10]],
        ['p99 latency', 'ms', [null, 9.5, 20]],
      ],
    );
    assert.equal(
      chart.summary,
      "50 requests in the last 3 minutes, at most 40 in a minute; the slowest minute's p99 was 20 ms.",
    );
    assert.equal(requestChart([]).summary, 'No requests in the last 0 minutes.');
  });

  test('the chart table: one row per time, a gap as a dash; one axis per unit', () => {
    const series = [
      { unit: 'req/min', values: [3, 12] },
      { unit: 'ms', values: [null, 2.345] },
      { unit: 'ms', values: [150.4, 9] },
    ];
    assert.deepEqual(scalesOf(series), ['req/min', 'ms']);
    assert.deepEqual(chartRows([Date.UTC(2026, 0, 1, 9, 5), Date.UTC(2026, 0, 1, 9, 6)], series), [
      { time: '09:05', values: ['3 req/min', '—', '150 ms'] },
      { time: '09:06', values: ['12 req/min', '2.35 ms', '9 ms'] },
    ]);
    assert.equal(formatValue(12.34, 'ms'), '12.3 ms');
  });
});
