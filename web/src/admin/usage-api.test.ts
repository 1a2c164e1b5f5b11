import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ResourceTotals } from '@keel/contract/usage';
import { ApiError } from '../api/api-error.ts';
import { createApiClient } from '../api/client.ts';
import { createFakeFetch, json, type Responder } from '../testing/fake-fetch.ts';
import { createFakeTimers } from '../testing/fake-timers.ts';
import { createUsageApi } from './usage-api.ts';

function usageApi(...script: Responder[]) {
  const { fetch, calls } = createFakeFetch(...script);
  const client = createApiClient({ fetch, readCookie: () => undefined, timers: createFakeTimers().timers });
  return { usage: createUsageApi(client), calls };
}

const zero: ResourceTotals = {
  cpuSeconds: 0,
  memoryGibHours: 0,
  storageGibHours: 0,
  peakStorageBytes: 0,
  runningSeconds: 0,
  commands: 0,
  aiCalls: 0,
  aiPromptTokens: 0,
  aiCompletionTokens: 0,
};
const window = {
  since: '2031-03-03T00:00:00.000Z',
  until: '2031-03-10T00:00:00.000Z',
  granularity: 'day' as const,
};

describe('usage API (fake fetch)', () => {
  test('my usage is asked for with its window and checked against the contract', async () => {
    const answer = { ...window, totals: { ...zero, commands: 2 }, buckets: [], workspaces: [], models: [] };
    const { usage, calls } = usageApi(
      json(200, answer),
      json(200, { ...answer, totals: { cpuSeconds: 'lots' } }),
    );

    assert.deepEqual(await usage.mine(window), answer);
    assert.equal(
      calls[0]?.path,
      '/api/me/usage?since=2031-03-03T00%3A00%3A00.000Z&until=2031-03-10T00%3A00%3A00.000Z&granularity=day',
    );
    await assert.rejects(
      usage.mine(window),
      (error) => error instanceof ApiError && error.code === 'unexpected_response',
    );
  });

  test('CSV links carry the same filters; the download takes the server’s file name and row-limit flag', async () => {
    const { usage, calls } = usageApi(() =>
      Promise.resolve(
        new Response('bucket_start,workspace_id\r\n', {
          status: 200,
          headers: {
            'content-type': 'text/csv; charset=utf-8',
            'content-disposition': 'attachment; filename="keel-usage-day-20310310T000000Z.csv"',
            'x-row-limit-reached': 'true',
          },
        }),
      ),
    );
    const href = usage.reportCsvHref({ ...window, team: 'Platform', userId: 'usr_1' });
    assert.equal(
      href,
      '/api/admin/usage?since=2031-03-03T00%3A00%3A00.000Z&until=2031-03-10T00%3A00%3A00.000Z&granularity=day&team=Platform&userId=usr_1&format=csv',
    );
    assert.match(usage.myCsvHref(window), /^\/api\/me\/usage\?.*&format=csv$/);
    const file = await usage.downloadCsv(href);
    assert.equal(calls[0]?.path, href);
    assert.equal(file.filename, 'keel-usage-day-20310310T000000Z.csv');
    assert.equal(file.truncated, true);
    assert.equal(await file.blob.text(), 'bucket_start,workspace_id\r\n');
  });
});
