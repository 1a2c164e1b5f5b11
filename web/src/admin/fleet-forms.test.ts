import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRoot } from 'solid-js';
import { createTestApis } from '../testing/api-setup.ts';
import { json, type Responder } from '../testing/fake-fetch.ts';
import { createFakeTimers } from '../testing/fake-timers.ts';
import { runner } from './admin-fixtures.ts';
import { describeDrain } from './drain.tsx';
import { labelsFromRows } from './label-rows.ts';
import { createRunnerListStore } from './runner-list-store.ts';
import { buildSnapshotStoreRequest, type SnapshotStoreInput } from './snapshot-store-form.ts';

const S3: SnapshotStoreInput = {
  kind: 's3',
  path: '',
  endpoint: 'http://198.51.100.7:9000',
  region: '',
  bucket: 'keel-snapshots',
  prefix: 'ws/',
  forcePathStyle: true,
  accessKeyId: 'AKIAEXAMPLE',
  secretAccessKey: '',
  intervalMinutes: '60',
  retention: '5',
  onStop: true,
  hasSecret: false,
};

describe('placement labels', () => {
  test('rows become labels; empty rows are dropped; a repeated or bad key is named', () => {
    assert.deepEqual(
      labelsFromRows([
        { key: ' region ', value: 'eu-west ' },
        { key: '', value: '' },
        { key: 'gpu', value: 'a100' },
      ]),
      { ok: true, labels: { region: 'eu-west', gpu: 'a100' } },
    );
    const twice = labelsFromRows([
      { key: 'region', value: 'a' },
      { key: 'region', value: 'b' },
    ]);
    assert.equal(twice.ok, false);
    assert.match(!twice.ok ? twice.message : '', /given twice/);
    assert.equal(labelsFromRows([{ key: 'Region', value: 'x' }]).ok, false);
    assert.equal(labelsFromRows([{ key: '', value: 'x' }]).ok, false);
  });
});

describe('snapshot store form', () => {
  test('a new S3 store needs its secret; a set one is kept when left empty', () => {
    const missing = buildSnapshotStoreRequest(S3);
    assert.equal(missing.ok, false);
    assert.ok(!missing.ok && missing.fields.secretAccessKey);
    const kept = buildSnapshotStoreRequest({ ...S3, hasSecret: true });
    assert.ok(kept.ok);
    assert.deepEqual(kept.request, {
      store: {
        kind: 's3',
        endpoint: 'http://198.51.100.7:9000',
        region: 'us-east-1',
        bucket: 'keel-snapshots',
        prefix: 'ws/',
        forcePathStyle: true,
        accessKeyId: 'AKIAEXAMPLE',
      },
      intervalMinutes: 60,
      retention: 5,
      onStop: true,
    });
    const given = buildSnapshotStoreRequest({ ...S3, secretAccessKey: 's3cret' });
    assert.ok(given.ok && given.request.secretAccessKey === 's3cret');
  });

  test('bad fields are marked before sending; a folder store sends no secret', () => {
    const bad = buildSnapshotStoreRequest({
      ...S3,
      endpoint: 'ftp://x',
      bucket: 'No_Such',
      secretAccessKey: 'x',
      retention: '0',
      intervalMinutes: '1.5',
    });
    assert.ok(!bad.ok);
    assert.deepEqual(Object.keys(bad.fields).sort(), ['bucket', 'endpoint', 'intervalMinutes', 'retention']);
    const folder = buildSnapshotStoreRequest({
      ...S3,
      kind: 'folder',
      path: '/srv/snapshots',
      secretAccessKey: 'x',
    });
    assert.ok(folder.ok);
    assert.deepEqual(folder.request.store, { kind: 'folder', path: '/srv/snapshots' });
    assert.equal('secretAccessKey' in folder.request, false);
    const escaping = buildSnapshotStoreRequest({ ...S3, kind: 'folder', path: '/srv/../etc' });
    assert.ok(!escaping.ok && escaping.fields.path);
  });
});

describe('drains', () => {
  const progress = { draining: true, since: '2025-01-01T00:00:00.000Z', remaining: 2, moving: 1, failed: 0 };

  test('in words', () => {
    assert.equal(describeDrain(progress), 'Draining: 2 remaining · 1 moving · 0 failed');
    assert.equal(describeDrain({ ...progress, remaining: 0, moving: 0 }), 'Drained: no workspaces left');
    assert.match(describeDrain({ ...progress, remaining: 0, moving: 0, failed: 1 }), /1 could not move/);
  });

  test('a drain asked for polls the runners every 2 s until it is done, then every 10 s', async () => {
    const responders: Responder[] = [
      json(200, { runners: [runner()] }),
      json(200, { id: runner().id, drain: progress }),
      json(200, { runners: [{ ...runner(), drain: { ...progress, remaining: 0, moving: 0 } }] }),
    ];
    const apis = createTestApis(...responders);
    const clock = createFakeTimers();
    const store = createRoot(() =>
      createRunnerListStore({
        api: apis.runners,
        drain: (id, drain, shared) => apis.fleet.drainRunner(id, drain, shared),
        timers: clock.timers,
      }),
    );
    await store.load();
    assert.deepEqual(clock.delays(), [10_000]);
    await store.drain(runner().id, true);
    assert.equal(store.runners()?.[0]?.drain?.remaining, 2);
    assert.deepEqual(clock.delays(), [2000]);
    assert.deepEqual(apis.calls[1]?.body, { drain: true });
    assert.equal(apis.calls[1]?.path, `/api/admin/runners/${runner().id}/drain`);
    clock.fireAll();
    await store.load();
    assert.deepEqual(clock.delays(), [10_000]);
    store.dispose();
  });
});
