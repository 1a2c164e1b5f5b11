/**
 * The install's snapshot store over the API (real PostgreSQL and Redis): install administrators
 * only; the S3 secret is sealed, kept when not sent, never answered nor audited; runners get the
 * access over their own call, audited; and `scripts/rotate-secret` re-seals the secret.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_SNAPSHOT_INTERVAL_MINUTES, DEFAULT_SNAPSHOT_RETENTION } from '@keel/contract/snapshots';
import { auditEvents, snapshotStore } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { SecretBox } from '../../edge/src/auth/secret-box.ts';
import { SecretKeyring } from '../../edge/src/auth/secret-keys.ts';
import {
  loadSnapshotStore,
  SNAPSHOT_STORE_PURPOSE,
  saveSnapshotStore,
  sealStoreSecret,
  storeAccess,
} from '../../edge/src/snapshots/store-settings.ts';
import { rotateSecrets } from '../../scripts/lib/rotate-secret.ts';
import { freshDatabase } from '../harness/test-app.ts';
import { type SnapshotRig, startSnapshotRig } from './snapshot-rig.ts';

const SECRET = `s3-secret-${randomBytes(12).toString('hex')}`;
const OTHER_SECRET = `s3-secret-${randomBytes(12).toString('hex')}`;
const S3 = {
  kind: 's3',
  endpoint: 'http://198.51.100.20:9000',
  bucket: 'keel-snapshots',
  prefix: 'install-a/',
  accessKeyId: 'AKIAKEELTEST',
} as const;

describe('the install’s snapshot store (real PostgreSQL and Redis)', () => {
  let rig: SnapshotRig;
  const put = (body: unknown, client = rig.admin) =>
    rig.as(client, 'PUT', '/api/install/snapshot-store', body);
  const storeOfRunner = async () => {
    const res = await rig.runnerCall(rig.holder, 'GET', '/api/runners/snapshot-store');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    return (await res.json()) as { access: Record<string, unknown>; onStop: boolean };
  };

  before(async () => {
    rig = await startSnapshotRig();
  });
  after(async () => {
    await rig?.close();
  });

  test('with nothing saved: the folder store on the runners’ own folder, the default schedule', async () => {
    const res = await rig.as(rig.admin, 'GET', '/api/install/snapshot-store');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      store: { kind: 'folder', path: null },
      secretFingerprint: null,
      intervalMinutes: DEFAULT_SNAPSHOT_INTERVAL_MINUTES,
      retention: DEFAULT_SNAPSHOT_RETENTION,
      onStop: true,
      updatedAt: null,
    });
    assert.deepEqual(await storeOfRunner(), { access: { kind: 'folder', path: null }, onStop: true });
  });

  test('only install administrators read or change it; refusals are audited on the install chain', async () => {
    for (const client of [rig.developer, rig.viewer, rig.outsider]) {
      const read = await rig.as(client, 'GET', '/api/install/snapshot-store');
      assert.equal(read.status, 403, JSON.stringify(read.body));
      assert.equal(read.body.error.code, 'forbidden');
      const write = await put({ store: { kind: 'folder', path: '/srv/x' } }, client);
      assert.equal(write.status, 403, JSON.stringify(write.body));
    }
    const anonymous = await rig.app.fetch('/api/install/snapshot-store');
    assert.equal(anonymous.status, 401);
    const denied = await rig.app.services.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.action, 'access.denied'));
    assert.ok(denied.filter((d) => d.organizationId === null).length >= 6);
    assert.equal((await rig.app.services.db.select().from(snapshotStore)).length, 0, 'nothing was saved');
  });

  test('bad settings are 422 with the error body, and change nothing', async () => {
    const bad: unknown[] = [
      { store: { kind: 'folder', path: 'relative/path' } },
      { store: { kind: 'folder', path: '/srv/../etc' } },
      { store: { kind: 'folder', path: '/' } },
      { store: { kind: 'folder', path: '/srv/x' }, secretAccessKey: 'no secrets for folders' },
      { store: { kind: 'nfs', path: '/srv' } },
      { store: { ...S3, bucket: 'Not_A_Bucket' }, secretAccessKey: SECRET },
      { store: { ...S3, endpoint: 'ftp://198.51.100.20' }, secretAccessKey: SECRET },
      { store: { ...S3, prefix: '/abs' }, secretAccessKey: SECRET },
      { store: S3, secretAccessKey: SECRET, retention: 0 },
      { store: S3, secretAccessKey: SECRET, intervalMinutes: -1 },
      { store: S3, secretAccessKey: '' },
      { store: S3 },
      { store: { kind: 'folder' }, extra: true },
    ];
    for (const body of bad) {
      const res = await put(body);
      assert.equal(res.status, 422, `${JSON.stringify(body)} → ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.match(res.body.error.requestId, /\S/);
    }
    const noSecret = await put({ store: S3 });
    assert.equal(
      noSecret.body.error.issues[0].path,
      'secretAccessKey',
      'an s3 store with no secret ever set',
    );
    assert.equal((await rig.app.services.db.select().from(snapshotStore)).length, 0);
  });

  test('an s3 store: the secret sealed, its fingerprint shown, never the secret, not even in the audit', async () => {
    const res = await put({
      store: S3,
      secretAccessKey: SECRET,
      intervalMinutes: 30,
      retention: 3,
      onStop: false,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.store, { ...S3, region: 'us-east-1', forcePathStyle: true });
    assert.match(res.body.secretFingerprint, /^SHA256:/);
    assert.equal(res.body.intervalMinutes, 30);
    assert.equal(res.body.retention, 3);
    assert.equal(res.body.onStop, false);
    const [row] = await rig.app.services.db.select().from(snapshotStore);
    assert.ok(row!.secretSealed && !row!.secretSealed.includes(SECRET));
    assert.equal(await rig.app.services.box.open(row!.secretSealed, SNAPSHOT_STORE_PURPOSE), SECRET);
    await assert.rejects(
      rig.app.services.box.open(row!.secretSealed, 'server-credential:x'),
      'bound to its purpose',
    );

    // Kept when not sent again, while the rest changes.
    const kept = await put({ store: { ...S3, bucket: 'keel-other' } });
    assert.equal(kept.status, 200, JSON.stringify(kept.body));
    assert.equal(kept.body.secretFingerprint, res.body.secretFingerprint);
    assert.equal(kept.body.intervalMinutes, 30, 'what is not sent stays');
    const read = await rig.as(rig.admin, 'GET', '/api/install/snapshot-store');
    assert.equal(read.body.store.bucket, 'keel-other');
    assert.equal(read.body.secretFingerprint, res.body.secretFingerprint);

    // A runner gets the access with the secret, audited (without it) on the install chain.
    const runner = await storeOfRunner();
    assert.deepEqual(runner, {
      access: {
        ...S3,
        bucket: 'keel-other',
        region: 'us-east-1',
        forcePathStyle: true,
        secretAccessKey: SECRET,
      },
      onStop: false,
    });
    const used = await rig.app.services.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.action, 'snapshot_store.access_used'));
    assert.equal(used.length, 1);
    assert.equal(used[0]!.organizationId, null);
    assert.equal((used[0]!.metadata as Record<string, unknown>).runnerId, rig.holder.runnerId);

    // Changed: a new fingerprint; then back to a folder, which keeps no secret.
    const changed = await put({ store: S3, secretAccessKey: OTHER_SECRET });
    assert.notEqual(changed.body.secretFingerprint, res.body.secretFingerprint);
    assert.equal((await storeOfRunner()).access.secretAccessKey, OTHER_SECRET);
    const folder = await put({ store: { kind: 'folder', path: '/srv/keel-snapshots' } });
    assert.equal(folder.status, 200);
    assert.equal(folder.body.secretFingerprint, null);
    assert.equal((await rig.app.services.db.select().from(snapshotStore))[0]!.secretSealed, null);
    assert.deepEqual((await storeOfRunner()).access, { kind: 'folder', path: '/srv/keel-snapshots' });
    const again = await put({ store: S3 });
    assert.equal(again.status, 422, 'the secret is needed again once dropped');

    const updates = await rig.app.services.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.action, 'install.snapshot_store.update'));
    assert.equal(updates.length, 4);
    assert.ok(updates.every((u) => u.organizationId === null && u.actorId));
    const everything = JSON.stringify(await rig.app.services.db.select().from(auditEvents));
    for (const secret of [SECRET, OTHER_SECRET]) {
      assert.ok(!everything.includes(secret), 'no secret in the audit trail');
      assert.ok(!rig.bodies.some((b) => b.includes(secret)), 'no secret in any answer to a person');
    }
  });

  test('rotate-secret re-seals the store’s secret under the new key; it still opens, its fingerprint unchanged', async () => {
    const handle = await freshDatabase('postgres');
    try {
      const a = new Uint8Array(randomBytes(32));
      const b = new Uint8Array(randomBytes(32));
      const sealed = await sealStoreSecret({ box: new SecretBox(a) }, SECRET);
      await saveSnapshotStore(
        handle.db,
        {
          store: { ...S3, region: 'us-east-1', forcePathStyle: true },
          ...sealed,
          intervalMinutes: 60,
          retention: 5,
          onStop: true,
        },
        null,
        new Date(),
      );
      const keyring = new SecretKeyring(b, [a]);
      const dry = await rotateSecrets({ db: handle.db, keyring, dryRun: true });
      assert.deepEqual(
        dry.counts.find((c) => c.place === 'snapshot_store.secret_sealed'),
        { place: 'snapshot_store.secret_sealed', resealed: 1, current: 0 },
      );
      const report = await rotateSecrets({ db: handle.db, keyring, dryRun: false });
      assert.deepEqual(report.refusals, []);
      const stored = await loadSnapshotStore(handle.db);
      assert.equal(SecretBox.keyIdOf(stored.secretSealed!), (await keyring.keyIds())[0]);
      assert.equal(stored.secretFingerprint, sealed.secretFingerprint);
      const access = await storeAccess({ box: new SecretBox(b) }, stored);
      assert.equal(access?.kind === 's3' && access.secretAccessKey, SECRET, 'opens under the new key alone');
      const second = await rotateSecrets({ db: handle.db, keyring, dryRun: false });
      assert.deepEqual(
        second.counts.find((c) => c.place === 'snapshot_store.secret_sealed'),
        { place: 'snapshot_store.secret_sealed', resealed: 0, current: 1 },
      );
    } finally {
      await handle.close();
    }
  });
});
