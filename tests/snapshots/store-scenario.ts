/**
 * One scenario every snapshot store passes (the folder store and the S3 client against the
 * S3 stand-in): a snapshot, a restore, a second snapshot after one changed file that writes
 * only the chunks around it, and a prune that deletes what only the pruned snapshot named while
 * keeping the chunks both share.
 */
import assert from 'node:assert/strict';
import { snapshotStoreKeys } from '@keel/contract/snapshots';
import { JobError } from '../../runners/src/job-error.ts';
import { restoreWorkspace, saveWorkspace } from '../../runners/src/snapshots/engine.ts';
import { readManifest } from '../../runners/src/snapshots/manifest.ts';
import { pruneSnapshots } from '../../runners/src/snapshots/prune.ts';
import type { SnapshotStore } from '../../runners/src/snapshots/store.ts';
import type { WorkloadDriver } from '../../runners/src/workloads/types.ts';
import { listing, newSnapshotId, sh, TREE_SCRIPT } from './engine-tree.ts';

async function chunksOf(store: SnapshotStore, snapshotId: string): Promise<Set<string>> {
  const manifest = await readManifest(store, snapshotId);
  assert.equal(manifest.v, 2, 'new snapshots are written in version 2');
  return new Set(manifest.v === 2 ? manifest.chunks.map((c) => c.hash) : []);
}

async function chunkCount(store: SnapshotStore): Promise<number> {
  let n = 0;
  for await (const _ of store.list('chunks/')) n++;
  return n;
}

export async function storeScenario(
  store: SnapshotStore,
  driver: WorkloadDriver,
  source: string,
  target: string,
) {
  await sh(driver, source, TREE_SCRIPT);
  const first = await saveWorkspace(driver, source, newSnapshotId(), store);
  const firstChunks = await chunkCount(store);
  assert.equal(first.chunksWritten, firstChunks);

  await restoreWorkspace(driver, target, first.snapshotId, store);
  const restored = await listing(driver, target);
  const original = (await listing(driver, source)).filter(
    (l) => !/^(l \.\/outside-link|l \.\/src\/escape-link|p )/.test(l),
  );
  assert.deepEqual(restored, original);

  await sh(driver, source, 'printf "one change\\n" > src/hello.txt');
  const firstNamed = await chunksOf(store, first.snapshotId);
  const second = await saveWorkspace(driver, source, newSnapshotId(), store);
  assert.ok(second.chunksWritten >= 1 && second.chunksWritten <= 2, 'only the chunks around the change');
  assert.equal(await chunkCount(store), firstChunks + second.chunksWritten);
  const secondNamed = await chunksOf(store, second.snapshotId);
  const onlyFirst = [...firstNamed].filter((h) => !secondNamed.has(h));
  assert.ok(onlyFirst.length >= 1 && onlyFirst.length <= 2);

  // Within the grace period nothing is collected, even a chunk no manifest names any more.
  const early = await pruneSnapshots(store, [first.snapshotId], { collectChunks: true });
  assert.equal(early.chunksDeleted, 0);
  assert.equal(await store.has(snapshotStoreKeys.manifest(first.snapshotId)), false);
  await assert.rejects(
    restoreWorkspace(driver, target, first.snapshotId, store),
    (e: unknown) => e instanceof JobError && e.code === 'not_found',
  );

  const late = await pruneSnapshots(store, [], { collectChunks: true, graceMs: 0, now: Date.now() + 5_000 });
  assert.equal(late.chunksDeleted, onlyFirst.length, 'the chunks that held the changed file as it was');
  assert.equal(late.chunksKept, secondNamed.size, 'every chunk the second snapshot names');
  assert.equal(await chunkCount(store), secondNamed.size);
  for (const h of onlyFirst) assert.equal(await store.has(snapshotStoreKeys.chunk(h)), false);

  await sh(driver, target, 'chmod -R u+w . && rm -rf ./* && echo stray > stray.txt');
  await restoreWorkspace(driver, target, second.snapshotId, store);
  assert.equal(
    await sh(driver, target, 'cat src/hello.txt; ls stray.txt 2>/dev/null || true'),
    'one change\n',
  );
  assert.equal(await sh(driver, target, 'sha256sum big.bin'), await sh(driver, source, 'sha256sum big.bin'));
}
