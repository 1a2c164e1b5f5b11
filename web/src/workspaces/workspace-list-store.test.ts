import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRoot } from 'solid-js';
import { createTestApis } from '../testing/api-setup.ts';
import { apiError, json, type Responder } from '../testing/fake-fetch.ts';
import { createFakeTimers } from '../testing/fake-timers.ts';
import { workspace } from '../testing/fixtures.ts';
import { createWorkspaceListStore } from './workspace-list-store.ts';

const running = workspace({ id: 'ws_runningaaaaaaaaaaaaa', name: 'running', status: 'running' });
const stopped = workspace({ id: 'ws_stoppedaaaaaaaaaaaaa', name: 'stopped', status: 'stopped' });
const creating = workspace({ id: 'ws_creatingaaaaaaaaaaaa', name: 'creating', status: 'creating' });

function setup(...script: Responder[]) {
  const apis = createTestApis(...script);
  const clock = createFakeTimers();
  let visible = true;
  const store = createRoot(() =>
    createWorkspaceListStore({
      api: apis.workspaces,
      timers: clock.timers,
      pollMs: 3000,
      isVisible: () => visible,
    }),
  );
  return { ...apis, clock, store, hide: () => (visible = false), show: () => (visible = true) };
}

describe('workspace list store (fake fetch)', () => {
  test('loads once and does not poll when every workspace rests', async () => {
    const { store, clock, paths } = setup(json(200, { workspaces: [stopped] }));

    await store.load();

    assert.deepEqual(store.workspaces(), [stopped]);
    assert.deepEqual(clock.delays(), []);
    assert.deepEqual(paths(), ['GET /api/workspaces']);
  });

  test('asks again now and then while workspaces run, and shows one whose runner went away', async () => {
    const gone = { ...running, status: 'unavailable', statusReason: 'its runner is offline' };
    const { store, clock, paths } = setup(
      json(200, { workspaces: [running, stopped] }),
      json(200, { workspaces: [gone, stopped] }),
    );

    await store.load();
    assert.deepEqual(clock.delays(), [15_000]);
    clock.fireAll();
    await new Promise((resolve) => setTimeout(resolve, 0));

    assert.equal(store.workspaces()?.[0]?.status, 'unavailable');
    assert.equal(store.workspaces()?.[0]?.statusReason, 'its runner is offline');
    // Unavailable ends by itself when the runner is back: asked about every few seconds.
    assert.deepEqual(clock.delays(), [3000]);
    assert.deepEqual(paths(), ['GET /api/workspaces', 'GET /api/workspaces']);
    store.dispose();
  });

  test('polls every few seconds while a workspace is transitional, and slows down once it settles', async () => {
    const { store, clock, calls } = setup(
      json(200, { workspaces: [creating] }),
      json(200, { workspaces: [{ ...creating, status: 'running' }] }),
    );

    await store.load();
    assert.deepEqual(clock.delays(), [3000]);
    clock.fireAll();
    await store.load();

    assert.equal(store.workspaces()?.[0]?.status, 'running');
    assert.deepEqual(clock.delays(), [15_000]);
    assert.equal(calls.length, 2);
  });

  test('a hidden page skips the poll; resume catches up', async () => {
    const { store, clock, calls, hide, show } = setup(
      json(200, { workspaces: [creating] }),
      json(200, { workspaces: [{ ...creating, status: 'running' }] }),
    );
    await store.load();

    hide();
    clock.fireAll();
    assert.equal(calls.length, 1);
    show();
    store.resume();
    await store.load();

    assert.equal(store.workspaces()?.[0]?.status, 'running');
    assert.equal(calls.length, 2);
  });

  test('a failed load keeps the last list and records the error', async () => {
    const { store } = setup(json(200, { workspaces: [running] }), apiError(503, 'not_ready'));
    await store.load();

    await store.load();

    assert.deepEqual(store.workspaces(), [running]);
    assert.ok(store.loadError());
  });

  test('create puts the new workspace first and starts polling its progress', async () => {
    const { store, clock } = setup(json(200, { workspaces: [running] }), json(201, creating));
    await store.load();

    await store.create({ name: 'creating', source: { type: 'empty' } });

    assert.deepEqual(
      store.workspaces()?.map((w) => w.name),
      ['creating', 'running'],
    );
    assert.deepEqual(clock.delays(), [3000]);
  });

  test('an action shows as pending, then applies the transitional status and polls', async () => {
    let release: () => void = () => {};
    const { store, clock } = setup(
      json(200, { workspaces: [running] }),
      (call) =>
        new Promise<Response>((resolve) => {
          release = () =>
            resolve(new Response(JSON.stringify({ id: running.id, status: 'stopping' }), { status: 202 }));
          assert.equal(call.path, `/api/workspaces/${running.id}/stop`);
        }),
    );
    await store.load();

    const acting = store.act(running.id, 'stop');
    assert.equal(store.pending(running.id), 'stop');
    release();
    await acting;

    assert.equal(store.pending(running.id), undefined);
    assert.equal(store.workspaces()?.[0]?.status, 'stopping');
    assert.deepEqual(clock.delays(), [3000]);
  });

  test('a refused action rejects and leaves the status as it was', async () => {
    const { store } = setup(json(200, { workspaces: [running] }), apiError(403, 'forbidden'));
    await store.load();

    await assert.rejects(store.act(running.id, 'stop'));

    assert.equal(store.workspaces()?.[0]?.status, 'running');
    assert.equal(store.pending(running.id), undefined);
  });

  test('remove drops the workspace from the list', async () => {
    const { store } = setup(
      json(200, { workspaces: [running, creating] }),
      json(202, { id: running.id, status: 'deleting' }),
    );
    await store.load();

    await store.remove(running.id);

    assert.deepEqual(
      store.workspaces()?.map((w) => w.id),
      [creating.id],
    );
  });

  test('dispose stops polling', async () => {
    const { store, clock } = setup(json(200, { workspaces: [creating] }));
    await store.load();

    store.dispose();

    assert.deepEqual(clock.delays(), []);
  });
});
