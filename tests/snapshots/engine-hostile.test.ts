import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type ManifestEntry,
  type ManifestEntryV1,
  SNAPSHOT_CHUNK_BYTES,
  snapshotStoreKeys,
} from '@keel/contract/snapshots';
import { JobError } from '../../runners/src/job-error.ts';
import { restoreWorkspace } from '../../runners/src/snapshots/engine.ts';
import { BadEntryError, checkManifest } from '../../runners/src/snapshots/entry-checks.ts';
import { FolderStore } from '../../runners/src/snapshots/folder-store.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import { listing, newSnapshotId, sh, workspaceIdFor } from './engine-tree.ts';

const content = Buffer.from('planted\n');
const hash = createHash('sha256').update(content).digest('hex');
const file = (path: string): Extract<ManifestEntry, { type: 'file' }> => ({
  type: 'file',
  path,
  mode: 0o644,
  size: content.length,
  mtimeMs: 1_600_000_000_000,
});
/** A version 2 manifest whose files each hold the planted content, one chunk apiece. */
const manifestV2 = (
  snapshotId: string,
  entries: ManifestEntry[],
  chunks = entries.flatMap((e) => (e.type === 'file' ? [{ hash, size: content.length }] : [])),
) =>
  Buffer.from(
    JSON.stringify({
      v: 2,
      snapshotId,
      workspaceId: workspaceIdFor('x'),
      takenAt: new Date().toISOString(),
      chunks,
      entries,
    }),
  );
/** The same in version 1 (each file its own chunks), as snapshots taken before version 2 are. */
const manifestV1 = (snapshotId: string, entries: ManifestEntry[]) =>
  Buffer.from(
    JSON.stringify({
      v: 1,
      snapshotId,
      workspaceId: workspaceIdFor('x'),
      takenAt: new Date().toISOString(),
      chunkBytes: SNAPSHOT_CHUNK_BYTES,
      entries: entries.map(
        (e): ManifestEntryV1 => (e.type === 'file' ? { ...e, chunks: e.size > 0 ? [hash] : [] } : e),
      ),
    }),
  );
const link = (path: string, target: string): ManifestEntry => ({ type: 'symlink', path, target });
const dir = (path: string): Extract<ManifestEntry, { type: 'directory' }> => ({
  type: 'directory',
  path,
  mode: 0o755,
  mtimeMs: 1_600_000_000_000,
});

/** Each hostile manifest, with what the refusal names. */
const hostile: [string, ManifestEntry[], RegExp][] = [
  ['a name climbing out with ..', [file('../escaped.txt')], /climbs out/],
  ['a name climbing out from a folder', [dir('a'), file('a/../../escaped.txt')], /climbs out/],
  ['an absolute name', [file('/tmp/keel-snap-absolute.txt')], /absolute/],
  ['a NUL in a name', [file('a\0b')], /NUL/],
  ['a link to a folder, then a file under it', [link('d', '.'), file('d/x.txt')], /lies under the symlink/],
  [
    'a link outside, then a file under it',
    [link('out', '/tmp'), file('out/x.txt')],
    /lies under the symlink|points outside/,
  ],
  ['a link to /etc', [link('etc', '/etc')], /points outside/],
  ['a link climbing out relatively', [dir('a'), link('a/up', '../../..')], /points outside/],
  ['a link out through another link', [link('c', '.'), link('a', 'c/x/../..')], /points outside/],
  ['a loop of links', [link('a', 'b'), link('b', 'a')], /points outside/],
  ['a file under a file', [file('f'), file('f/g')], /lies under the file/],
  ['the same name twice', [file('twice'), link('twice', 'other')], /appears twice/],
  [
    'a size its chunks do not hold',
    [{ ...file('big'), size: SNAPSHOT_CHUNK_BYTES + 1 }],
    /chunk\(s\) for|their chunks 8$/,
  ],
  ['an empty part in a name', [file('a//b')], /not a plain relative path/],
  ['a mode past 07777', [{ ...file('m'), mode: 0o10000 }], /mode/],
];

describe('snapshot restore refuses hostile manifests (real bubblewrap, folder store)', () => {
  let base: string;
  let driver: ProcessDriver;
  let store: FolderStore;
  const id = workspaceIdFor('snaphostile');
  let untouched: string[];

  before(async () => {
    base = mkdtempSync('/tmp/keel-snap-hostile-');
    chmodSync(base, 0o711);
    driver = new ProcessDriver({ root: join(base, 'workspaces') });
    store = new FolderStore(join(base, 'store'));
    await driver.create({
      workspaceId: id,
      cpus: 1,
      memoryMb: 128,
      network: false,
      storage: { kind: 'volume' },
    });
    await driver.start(id);
    await sh(driver, id, 'mkdir -p keep/dir && echo mine > keep/dir/file.txt && ln -s keep kept-link');
    untouched = await listing(driver, id);
    await store.put(snapshotStoreKeys.chunk(hash), content);
  });

  after(async () => {
    await driver.remove(id, { keepData: false }).catch(() => {});
    rmSync(base, { recursive: true, force: true });
    rmSync('/tmp/keel-snap-absolute.txt', { force: true });
  });

  for (const [what, entries, reason] of hostile) {
    it(`refuses ${what}, writing nothing inside or outside (version 2 and version 1 manifests)`, async () => {
      for (const manifest of [manifestV2, manifestV1]) {
        const snapshotId = newSnapshotId();
        await store.put(snapshotStoreKeys.manifest(snapshotId), manifest(snapshotId, entries));
        await refused(snapshotId, reason);
      }
    });
  }

  const refused = async (snapshotId: string, reason: RegExp) => {
    {
      await assert.rejects(
        restoreWorkspace(driver, id, snapshotId, store),
        (err: unknown) => err instanceof JobError && err.code === 'invalid' && reason.test(err.message),
      );
      assert.deepEqual(await listing(driver, id), untouched);
      const root = await driver.workspaceRoot(id);
      assert.ok(!existsSync(join(root, '..', 'escaped.txt')));
      assert.ok(!existsSync(join(root, '..', '..', 'escaped.txt')));
      assert.ok(!existsSync('/tmp/keel-snap-absolute.txt'));
      assert.ok(!existsSync('/tmp/x.txt'));
    }
  };

  it('refuses chunks out of bounds, or more chunk bytes than the files hold', async () => {
    for (const [chunks, reason] of [
      [[{ hash, size: 0 }], /out of bounds/],
      [[{ hash, size: 65 * 1024 * 1024 }], /out of bounds/],
      [
        [
          { hash, size: content.length },
          { hash, size: content.length },
        ],
        /hold 8 bytes and their chunks 16/,
      ],
    ] as const) {
      const snapshotId = newSnapshotId();
      await store.put(
        snapshotStoreKeys.manifest(snapshotId),
        manifestV2(snapshotId, [file('a.txt')], [...chunks]),
      );
      await refused(snapshotId, reason);
    }
  });

  it('refuses a manifest version it does not know, saying so', async () => {
    const snapshotId = newSnapshotId();
    const future = JSON.parse(manifestV2(snapshotId, [file('a.txt')]).toString());
    await store.put(snapshotStoreKeys.manifest(snapshotId), Buffer.from(JSON.stringify({ ...future, v: 3 })));
    await refused(snapshotId, /manifest version 3, which this runner cannot read \(it reads 1 and 2\)/);
  });

  it('refuses a manifest that is not one, or that names another snapshot', async () => {
    const snapshotId = newSnapshotId();
    await store.put(snapshotStoreKeys.manifest(snapshotId), Buffer.from('{"v":1,"entries":"no"}'));
    await assert.rejects(
      restoreWorkspace(driver, id, snapshotId, store),
      (e: unknown) => e instanceof JobError && e.code === 'invalid',
    );
    const other = newSnapshotId();
    await store.put(
      snapshotStoreKeys.manifest(other),
      Buffer.from(
        JSON.stringify({
          v: 1,
          snapshotId,
          workspaceId: workspaceIdFor('x'),
          takenAt: '',
          chunkBytes: SNAPSHOT_CHUNK_BYTES,
          entries: [],
        }),
      ),
    );
    await assert.rejects(restoreWorkspace(driver, id, other, store), /names another snapshot/);
    assert.deepEqual(await listing(driver, id), untouched);
  });

  it('a snapshot with a missing chunk is refused before anything changes; a corrupt chunk is never written', async () => {
    const missing = newSnapshotId();
    const lacking = '0'.repeat(64);
    await store.put(
      snapshotStoreKeys.manifest(missing),
      manifestV2(missing, [file('lacking.txt')], [{ hash: lacking, size: content.length }]),
    );
    await assert.rejects(
      restoreWorkspace(driver, id, missing, store),
      (e: unknown) =>
        e instanceof JobError && e.code === 'not_found' && e.message.includes(`lacks chunk ${lacking}`),
    );
    assert.deepEqual(await listing(driver, id), untouched);

    const corrupt = newSnapshotId();
    const bad = Buffer.from('tampered');
    const badHash = createHash('sha256').update('what the manifest says').digest('hex');
    await store.put(snapshotStoreKeys.chunk(badHash), bad);
    await store.put(
      snapshotStoreKeys.manifest(corrupt),
      manifestV2(
        corrupt,
        [{ ...file('tampered.txt'), size: bad.length }],
        [{ hash: badHash, size: bad.length }],
      ),
    );
    await assert.rejects(restoreWorkspace(driver, id, corrupt, store), /does not match its hash/);
    assert.equal(await sh(driver, id, 'cat tampered.txt 2>/dev/null || echo absent'), 'absent\n');
  });

  it('never restores set-user or set-group id bits', async () => {
    const snapshotId = newSnapshotId();
    await store.put(
      snapshotStoreKeys.manifest(snapshotId),
      manifestV2(snapshotId, [
        { ...file('suid'), mode: 0o6755 },
        { ...dir('sgid-dir'), mode: 0o2775 },
      ]),
    );
    const other = workspaceIdFor('snaphostile');
    await driver.create({
      workspaceId: other,
      cpus: 1,
      memoryMb: 128,
      network: false,
      storage: { kind: 'volume' },
    });
    await driver.start(other);
    try {
      await restoreWorkspace(driver, other, snapshotId, store);
      assert.equal(await sh(driver, other, 'stat -c "%a %n" suid sgid-dir'), '755 suid\n775 sgid-dir\n');
    } finally {
      await driver.remove(other, { keepData: false });
    }
  });

  it('orders a checked manifest folders first and links last', () => {
    const { ordered, chunks } = checkManifest({
      v: 2,
      snapshotId: newSnapshotId(),
      workspaceId: workspaceIdFor('x'),
      takenAt: '',
      chunks: [{ hash, size: 2 * content.length }],
      entries: [link('l', 'a/f'), file('a/z'), file('a/f'), dir('a/b'), dir('a')],
    });
    assert.deepEqual(
      ordered.map((e) => e.path),
      ['a', 'a/b', 'a/z', 'a/f', 'l'],
      'files keep the order their bytes have in the chunks',
    );
    assert.equal(chunks.length, 1);
    assert.throws(
      () =>
        checkManifest({
          v: 1,
          snapshotId: newSnapshotId(),
          workspaceId: workspaceIdFor('x'),
          takenAt: '',
          chunkBytes: 1,
          entries: [],
        }),
      BadEntryError,
    );
  });
});
