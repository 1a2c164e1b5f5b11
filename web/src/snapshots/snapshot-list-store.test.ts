import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SnapshotView } from '@keel/contract/snapshots';
import { createRoot } from 'solid-js';
import { createTestApis } from '../testing/api-setup.ts';
import { apiError, json, type Responder } from '../testing/fake-fetch.ts';
import { createFakeTimers } from '../testing/fake-timers.ts';
import { createSnapshotListStore } from './snapshot-list-store.ts';
import { describeSnapshotSize } from './snapshot-words.ts';

const WS = 'ws_aaaaaaaaaaaaaaaaaaaa';

function snapshot(overrides: Partial<SnapshotView> = {}): SnapshotView {
  return {
    id: 'snp_aaaaaaaaaaaaaaaaaaaa',
    workspaceId: WS,
    reason: 'manual',
    status: 'ready',
    error: null,
    files: 3,
    bytes: 3 * 1024 * 1024,
    bytesWritten: 2048,
    pinned: false,
    createdBy: 'usr_aaaaaaaaaaaaaaaaaaaa',
    createdAt: '2025-01-01T00:00:00.000Z',
    takenAt: '2025-01-01T00:00:01.000Z',
    ...overrides,
  };
}

function setup(...script: Responder[]) {
  const apis = createTestApis(...script);
  const clock = createFakeTimers();
  const store = createRoot(() => createSnapshotListStore(apis.fleet, WS, { timers: clock.timers }));
  return { ...apis, clock, store };
}

describe('snapshot list store (fake fetch)', () => {
  test('loads the list; nothing pending, so no polling', async () => {
    const { store, clock, paths } = setup(json(200, { snapshots: [snapshot()] }));
    assert.equal(store.snapshots(), undefined);
    await store.load();
    assert.equal(store.snapshots()?.length, 1);
    assert.deepEqual(paths(), [`GET /api/workspaces/${WS}/snapshots`]);
    assert.deepEqual(clock.delays(), []);
  });

  test('a new snapshot is listed pending and polled until it is ready', async () => {
    const pending = snapshot({
      id: 'snp_bbbbbbbbbbbbbbbbbbbb',
      status: 'pending',
      bytes: null,
      takenAt: null,
    });
    const { store, clock, paths, calls } = setup(
      json(200, { snapshots: [] }),
      json(202, { snapshot: pending }),
      json(200, { snapshots: [{ ...pending, status: 'ready', bytes: 10, bytesWritten: 10, files: 1 }] }),
    );
    await store.load();
    await store.take();
    assert.deepEqual(calls[1]?.body, {});
    assert.equal(store.snapshots()?.[0]?.status, 'pending');
    assert.deepEqual(clock.delays(), [2000]);
    clock.fireAll();
    await store.load();
    assert.equal(store.snapshots()?.[0]?.status, 'ready');
    assert.deepEqual(clock.delays(), []);
    assert.deepEqual(paths(), [
      `GET /api/workspaces/${WS}/snapshots`,
      `POST /api/workspaces/${WS}/snapshots`,
      `GET /api/workspaces/${WS}/snapshots`,
    ]);
    store.dispose();
  });

  test('restore and delete call their routes; a failed delete keeps the snapshot', async () => {
    const { store, paths } = setup(
      json(200, { snapshots: [snapshot()] }),
      json(202, { id: WS, status: 'stopping', snapshotId: snapshot().id }),
      apiError(409, 'conflict'),
    );
    await store.load();
    await store.restore(snapshot().id);
    await assert.rejects(store.remove(snapshot().id));
    assert.equal(store.snapshots()?.length, 1);
    assert.equal(store.pending(snapshot().id), undefined);
    assert.deepEqual(paths().slice(1), [
      `POST /api/workspaces/${WS}/snapshots/${snapshot().id}/restore`,
      `DELETE /api/workspaces/${WS}/snapshots/${snapshot().id}`,
    ]);
  });

  test('an error state, and sizes in words', async () => {
    const { store } = setup(apiError(503, 'not_ready'));
    await store.load();
    assert.ok(store.loadError());
    assert.equal(describeSnapshotSize(snapshot()), '3.0 MB, 3 files (wrote 2.0 KB)');
    assert.equal(describeSnapshotSize(snapshot({ bytes: null })), '—');
  });
});
