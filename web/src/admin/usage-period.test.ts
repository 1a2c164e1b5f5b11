import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AiUsageQuery } from '@keel/contract/ai-jobs';
import { dayBars, formatTokens, USAGE_PERIODS, usageWindow } from './usage-period.ts';

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
