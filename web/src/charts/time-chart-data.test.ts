import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  axisIncrs,
  chartRows,
  formatValue,
  lonelyPoints,
  timeHeading,
  timeLabel,
} from './time-chart-data.ts';

describe('time chart labels', () => {
  const noonish = Date.UTC(2026, 2, 7, 14, 37, 12);
  const midnight = Date.UTC(2026, 2, 7);

  test('a minute reads HH:MM, an hour its date and hour, a day its date; all in UTC', () => {
    assert.equal(timeLabel(noonish), '14:37');
    assert.equal(timeLabel(noonish, 'minute'), '14:37');
    assert.equal(timeLabel(noonish, 'hour'), '2026-03-07 14:00');
    assert.equal(timeLabel(noonish, 'day'), '2026-03-07');
    assert.equal(timeLabel(Date.UTC(2026, 11, 31, 23, 59), 'hour'), '2026-12-31 23:00');
  });

  test('daily rows are told apart by their date, not all "00:00"', () => {
    const x = [midnight, midnight + 86_400_000, midnight + 2 * 86_400_000];
    const series = [{ unit: 'tokens', values: [0, null, 1234] }];
    assert.deepEqual(chartRows(x, series, 'day'), [
      { time: '2026-03-07', values: ['0 tokens'] },
      { time: '2026-03-08', values: ['—'] },
      { time: '2026-03-09', values: ['1234 tokens'] },
    ]);
    assert.deepEqual(
      chartRows([midnight, midnight + 3_600_000], series, 'hour').map((r) => r.time),
      ['2026-03-07 00:00', '2026-03-07 01:00'],
    );
    assert.deepEqual(
      chartRows([midnight], series).map((r) => r.time),
      ['00:00'],
    );
  });

  test('the time column is headed for its kind of point', () => {
    assert.equal(timeHeading('minute'), 'Time (UTC)');
    assert.equal(timeHeading('hour'), 'Hour (UTC)');
    assert.equal(timeHeading('day'), 'Day (UTC)');
  });

  test('the x axis never ticks finer than a point', () => {
    assert.equal(axisIncrs('minute')[0], 60);
    assert.equal(axisIncrs('hour')[0], 3600);
    assert.equal(axisIncrs('day')[0], 86_400);
    for (const label of ['minute', 'hour', 'day'] as const) {
      const incrs = axisIncrs(label);
      assert.deepEqual(
        incrs,
        [...incrs].sort((a, b) => a - b),
        'ascending, as uPlot picks the first that fits',
      );
    }
  });

  test('a format of its own writes the value, the unit after it; a gap stays a dash', () => {
    const k = (n: number) => `${(n / 1000).toFixed(1)}k`;
    assert.equal(formatValue(12_345, 'tokens', k), '12.3k tokens');
    assert.equal(formatValue(null, 'tokens', k), '—');
    assert.equal(formatValue(2.345, 'ms'), '2.35 ms');
  });
});

describe('lonely points', () => {
  test('a value with a gap or an edge on both sides is one; a value beside another is not', () => {
    assert.deepEqual(lonelyPoints([null, 5, null, 1, 2, null, 0]), [1, 6]);
    assert.deepEqual(lonelyPoints([7]), [0]);
    assert.deepEqual(lonelyPoints([7, null]), [0]);
    assert.deepEqual(lonelyPoints([1, 2, 3]), []);
    assert.deepEqual(lonelyPoints([null, undefined, null]), []);
    assert.deepEqual(lonelyPoints([]), []);
  });
});
