import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRoot } from 'solid-js';
import { createTestApis } from '../testing/api-setup.ts';
import { apiError, json, type Responder } from '../testing/fake-fetch.ts';
import { createFakeTimers } from '../testing/fake-timers.ts';
import { HOST_FINGERPRINT, PEM_KEY, server, testResult } from './admin-fixtures.ts';
import { createServerListStore } from './server-list-store.ts';

const a = server({ id: 'srv_aaaaaaaaaaaaaaaaaaaa', name: 'alpha' });
const b = server({ id: 'srv_bbbbbbbbbbbbbbbbbbbb', name: 'bravo' });

function setup(...script: Responder[]) {
  const apis = createTestApis(...script);
  const clock = createFakeTimers();
  let visible = true;
  const store = createRoot(() =>
    createServerListStore({ api: apis.servers, timers: clock.timers, isVisible: () => visible }),
  );
  return { ...apis, clock, store, hide: () => (visible = false) };
}

describe('server list store (fake fetch)', () => {
  test('is loading (undefined) until the first answer, then holds the list', async () => {
    const { store, paths } = setup(json(200, { servers: [a, b] }));
    assert.equal(store.servers(), undefined);
    assert.equal(store.loadError(), undefined);

    await store.load();

    assert.deepEqual(
      store.servers()?.map((s) => s.name),
      ['alpha', 'bravo'],
    );
    assert.deepEqual(paths(), ['GET /api/admin/servers']);
  });

  test('an empty organization gives an empty list, not an error', async () => {
    const { store } = setup(json(200, { servers: [] }));
    await store.load();
    assert.deepEqual(store.servers(), []);
    assert.equal(store.loadError(), undefined);
  });

  test('a refused load records the error; a later one clears it', async () => {
    const { store } = setup(apiError(403, 'forbidden'), json(200, { servers: [a] }));
    await store.load();
    assert.equal(store.servers(), undefined);
    assert.ok(store.loadError());

    await store.load();
    assert.equal(store.loadError(), undefined);
    assert.equal(store.servers()?.length, 1);
  });

  test('an answer that is not the contract’s shape is an error, not a list', async () => {
    const { store } = setup(json(200, { servers: [{ id: 'nope' }] }));
    await store.load();
    assert.equal(store.servers(), undefined);
    assert.ok(store.loadError());
  });

  test('polls every 15 s for live resources, and skips while the page is hidden', async () => {
    const { store, clock, calls, hide } = setup(json(200, { servers: [a] }), json(200, { servers: [a] }));
    await store.load();
    assert.deepEqual(clock.delays(), [15_000]);
    hide();
    clock.fireAll();
    assert.equal(calls.length, 1);
    store.dispose();
    assert.deepEqual(clock.delays(), []);
  });

  test('create sends the request and puts the server in name order', async () => {
    const created = server({ id: 'srv_cccccccccccccccccccc', name: 'aardvark' });
    const { store, calls } = setup(json(200, { servers: [a, b] }), json(201, { server: created }));
    await store.load();

    await store.create({
      kind: 'ssh',
      name: 'aardvark',
      host: 'h.example.net',
      user: 'keel',
      privateKey: PEM_KEY,
      capacity: { workspaces: 5 },
    });

    assert.equal(calls[1]?.method, 'POST');
    assert.equal(calls[1]?.path, '/api/admin/servers');
    assert.deepEqual(
      store.servers()?.map((s) => s.name),
      ['aardvark', 'alpha', 'bravo'],
    );
  });

  test('test shows as pending, then keeps the result and the server as the answer says', async () => {
    const result = testResult({
      ok: false,
      code: 'host_key_unconfirmed',
      hostKey: {
        fingerprint: HOST_FINGERPRINT,
        algorithm: 'ssh-ed25519',
        publicKey: 'ssh-ed25519 AAAA',
        pinned: false,
        changed: false,
      },
    });
    let release: () => void = () => {};
    const { store } = setup(
      json(200, { servers: [a] }),
      () =>
        new Promise<Response>((resolve) => {
          release = () =>
            resolve(
              Response.json({ server: { ...a, status: 'host_key_unconfirmed', lastTest: result }, result }),
            );
        }),
    );
    await store.load();

    const testing = store.test(a.id);
    assert.equal(store.pending(a.id), 'test');
    release();
    const answered = await testing;

    assert.equal(answered.code, 'host_key_unconfirmed');
    assert.equal(store.pending(a.id), undefined);
    assert.equal(store.testResult(a.id)?.hostKey?.fingerprint, HOST_FINGERPRINT);
    assert.equal(store.servers()?.[0]?.status, 'host_key_unconfirmed');
  });

  test('confirming the host key posts the fingerprint seen and clears the offer', async () => {
    const result = testResult({ ok: false, code: 'host_key_unconfirmed' });
    const pinned = {
      ...a,
      status: 'new',
      endpoint: { ...a.endpoint, hostKeyFingerprint: HOST_FINGERPRINT },
    };
    const { store, calls } = setup(
      json(200, { servers: [a] }),
      json(200, { server: a, result }),
      json(200, { server: pinned }),
    );
    await store.load();
    await store.test(a.id);

    await store.confirmHostKey(a.id, HOST_FINGERPRINT);

    assert.equal(calls[2]?.path, `/api/admin/servers/${a.id}/host-key`);
    assert.deepEqual(calls[2]?.body, { fingerprint: HOST_FINGERPRINT });
    assert.equal(store.testResult(a.id), undefined);
    assert.equal(store.servers()?.[0]?.endpoint.hostKeyFingerprint, HOST_FINGERPRINT);
  });

  test('disable sends only { disabled: true }', async () => {
    const { store, calls } = setup(
      json(200, { servers: [a] }),
      json(200, { server: { ...a, status: 'disabled' } }),
    );
    await store.load();
    await store.setDisabled(a.id, true);
    assert.equal(calls[1]?.method, 'PATCH');
    assert.deepEqual(calls[1]?.body, { disabled: true });
    assert.equal(store.servers()?.[0]?.status, 'disabled');
  });

  test('a delete refused with 409 rejects and keeps the server listed', async () => {
    const { store } = setup(json(200, { servers: [a] }), apiError(409, 'conflict', 'workspaces live on it'));
    await store.load();
    await assert.rejects(store.remove(a.id), (error: { code?: string }) => error.code === 'conflict');
    assert.equal(store.servers()?.length, 1);
    assert.equal(store.pending(a.id), undefined);
  });

  test('a delete drops the server', async () => {
    const { store } = setup(json(200, { servers: [a, b] }), () => new Response(null, { status: 204 }));
    await store.load();
    await store.remove(a.id);
    assert.deepEqual(
      store.servers()?.map((s) => s.id),
      [b.id],
    );
  });
});
