import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRoot } from 'solid-js';
import { createTestApis } from '../testing/api-setup.ts';
import { apiError, json, type Responder } from '../testing/fake-fetch.ts';
import { createFakeTimers } from '../testing/fake-timers.ts';
import { runner } from './admin-fixtures.ts';
import { createRunnerListStore } from './runner-list-store.ts';

function setup(...script: Responder[]) {
  const apis = createTestApis(...script);
  const clock = createFakeTimers();
  const store = createRoot(() => createRunnerListStore({ api: apis.runners, timers: clock.timers }));
  return { ...apis, clock, store };
}

describe('runner list store (fake fetch)', () => {
  test('loading, then the runners with their heartbeat; polled every 10 s', async () => {
    const { store, clock, paths } = setup(json(200, { runners: [runner()] }));
    assert.equal(store.runners(), undefined);
    await store.load();
    assert.equal(store.runners()?.[0]?.stats?.gpus.length, 1);
    assert.deepEqual(paths(), ['GET /api/admin/runners']);
    assert.deepEqual(clock.delays(), [10_000]);
    store.dispose();
  });

  test('empty and error states', async () => {
    const empty = setup(json(200, { runners: [] }));
    await empty.store.load();
    assert.deepEqual(empty.store.runners(), []);

    const failing = setup(apiError(503, 'not_ready'));
    await failing.store.load();
    assert.equal(failing.store.runners(), undefined);
    assert.ok(failing.store.loadError());
  });

  test('a token is created with the request given and handed back, not kept', async () => {
    const { store, calls } = setup(
      json(201, {
        token: 'rgt_secret',
        runnerToken: {
          id: 'rtk_aaaaaaaaaaaaaaaaaaaa',
          name: 'gpu-2',
          labels: {},
          expiresAt: '2025-01-02T00:00:00.000Z',
          maxUses: 1,
          uses: 0,
          createdAt: '2025-01-01T00:00:00.000Z',
        },
      }),
    );
    const answer = await store.createToken({ name: 'gpu-2', expiresInSeconds: 3600, maxUses: 1 });
    assert.equal(answer.token, 'rgt_secret');
    assert.deepEqual(calls[0]?.body, { name: 'gpu-2', expiresInSeconds: 3600, maxUses: 1 });
    assert.equal(calls[0]?.path, '/api/admin/runner-tokens');
  });

  test('revoke marks the runner revoked, without live stats', async () => {
    const r = runner();
    const { store, calls } = setup(json(200, { runners: [r] }), () => new Response(null, { status: 204 }));
    await store.load();
    const revoking = store.revoke(r.id);
    assert.equal(store.revoking(r.id), true);
    await revoking;
    assert.equal(calls[1]?.method, 'DELETE');
    assert.equal(calls[1]?.path, `/api/admin/runners/${r.id}`);
    assert.equal(store.runners()?.[0]?.status, 'revoked');
    assert.equal(store.runners()?.[0]?.stats, null);
    assert.equal(store.revoking(r.id), false);
  });

  test('a refused revoke rejects and changes nothing', async () => {
    const r = runner({ shared: true });
    const { store } = setup(json(200, { runners: [r] }), apiError(403, 'forbidden'));
    await store.load();
    await assert.rejects(store.revoke(r.id));
    assert.equal(store.runners()?.[0]?.status, 'online');
  });
});
