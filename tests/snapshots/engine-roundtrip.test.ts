import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { snapshotStoreKeys } from '@keel/contract/snapshots';
import { DEFAULT_CHUNKING } from '../../runners/src/snapshots/content-chunker.ts';
import { checkSnapshot, restoreWorkspace, saveWorkspace } from '../../runners/src/snapshots/engine.ts';
import { FolderStore } from '../../runners/src/snapshots/folder-store.ts';
import { readManifest } from '../../runners/src/snapshots/manifest.ts';
import { manifestTar } from '../../runners/src/snapshots/tar-writer.ts';
import { replaceWorkspaceFiles } from '../../runners/src/snapshots/workspace-tar.ts';
import { DockerDriver } from '../../runners/src/workloads/docker.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import type { WorkloadDriver, WorkloadSpec } from '../../runners/src/workloads/types.ts';
import { ensureDockerAndImage, removeStale } from '../runner/docker-helper.ts';
import { listing, newSnapshotId, sh, TREE_SCRIPT, workspaceIdFor } from './engine-tree.ts';

const PREFIX = 'snapround';
const spec = (workspaceId: string): WorkloadSpec => ({
  workspaceId,
  cpus: 1,
  memoryMb: 256,
  network: false,
  storage: { kind: 'volume' },
});

/** 20 files of 70 KB to 1.1 MB between 120 small ones, about 12 MB. */
const MANY_FILES_SCRIPT = `set -e; mkdir -p many; i=0
while [ $i -lt 140 ]; do
  if [ $((i % 7)) -eq 3 ]; then n=$(( (i * 104729) % 1048576 + 70000 )); else n=$(( (i * 7919) % 8000 + 1 )); fi
  head -c $n /dev/urandom > many/f$i; i=$((i + 1))
done`;

/** Entries the restore cannot bring back by design: links leading outside, the pipe. */
const notSaved = (line: string) => /^(l \.\/outside-link|l \.\/src\/escape-link|p )/.test(line);

for (const kind of ['process', 'docker'] as const) {
  describe(`snapshot round trip on the ${kind} driver (real ${kind === 'docker' ? 'dockerd' : 'bubblewrap'}, folder store)`, () => {
    let base: string;
    let driver: WorkloadDriver;
    let store: FolderStore;
    const source = workspaceIdFor(PREFIX);
    const target = workspaceIdFor(PREFIX);
    let before_: string[];
    let first: Awaited<ReturnType<typeof saveWorkspace>>;

    before(async () => {
      base = mkdtempSync('/tmp/keel-snap-');
      chmodSync(base, 0o711);
      if (kind === 'docker') {
        await ensureDockerAndImage();
        await removeStale(`ws_${PREFIX}`);
        driver = new DockerDriver();
      } else driver = new ProcessDriver({ root: join(base, 'workspaces') });
      store = new FolderStore(join(base, 'store'));
      for (const id of [source, target]) {
        await driver.create(spec(id));
        await driver.start(id);
      }
      await sh(driver, source, TREE_SCRIPT);
      before_ = await listing(driver, source);
    });

    after(async () => {
      for (const id of [source, target]) await driver.remove(id, { keepData: false }).catch(() => {});
      rmSync(base, { recursive: true, force: true });
    });

    it('saves files, empty files, a file of several chunks, folders, modes, times and inside links', async () => {
      first = await saveWorkspace(driver, source, newSnapshotId(), store);
      assert.equal(first.files, 6);
      assert.equal(first.skippedLinks, 2, 'the links leading outside /workspace');
      assert.equal(first.skippedOther, 1, 'the pipe');
      assert.ok(first.bytes > 9_000_000);
      // The files' bytes, one after another, cut where their content says: the small files
      // share a chunk with part of big.bin, and no chunk is shorter than the minimum but the last.
      const manifest = await readManifest(store, first.snapshotId);
      assert.equal(manifest.v, 2);
      if (manifest.v !== 2) return;
      assert.equal(first.chunksWritten, manifest.chunks.length);
      assert.equal(
        manifest.chunks.reduce((sum, c) => sum + c.size, 0),
        first.bytes,
      );
      const { minBytes, maxBytes } = DEFAULT_CHUNKING;
      assert.ok(manifest.chunks.slice(0, -1).every((c) => c.size >= minBytes && c.size <= maxBytes));
      assert.ok(first.chunksWritten <= Math.ceil(first.bytes / minBytes));
      const chunkDirs = readdirSync(join(store.root, 'chunks'));
      assert.ok(chunkDirs.length > 0);
      assert.equal(statSync(join(store.root, 'chunks')).mode & 0o777, 0o700, 'store folders are 0700');
      const manifestFile = join(store.root, snapshotStoreKeys.manifest(first.snapshotId));
      assert.equal(statSync(manifestFile).mode & 0o777, 0o600);
    });

    it('restores the same tree into another workspace (links leading outside and the pipe not kept)', async () => {
      await sh(driver, target, 'echo stale > stale.txt && mkdir -p old/dir');
      const restored = await restoreWorkspace(driver, target, first.snapshotId, store);
      assert.equal(restored.files, 6);
      assert.equal(restored.takenAt, first.takenAt);
      const after_ = await listing(driver, target);
      assert.deepEqual(
        after_,
        before_.filter((l) => !notSaved(l)),
      );
      assert.ok(after_.some((l) => l.startsWith('l ./src/lib/up-link ../hello.txt')));
      assert.ok(
        after_.some((l) => /^d 555 \.\/ro /.test(l)),
        'a read-only folder keeps its mode',
      );
      assert.ok(
        after_.some((l) => /^d 750 \.\/src\/lib 1612325106$/.test(l)),
        'a folder keeps its time',
      );
    });

    it('a second snapshot after one changed file writes only the chunks around it (and the manifest)', async () => {
      await sh(driver, source, 'printf "changed\\n" >> src/hello.txt');
      const second = await saveWorkspace(driver, source, newSnapshotId(), store);
      assert.ok(second.chunksWritten >= 1 && second.chunksWritten <= 2, `${second.chunksWritten} chunks`);
      assert.ok(second.bytesWritten <= 2 * DEFAULT_CHUNKING.maxBytes + second.manifestBytes);
      // And restoring the newer one into the same workspace it came from gives its files back.
      await sh(driver, source, 'rm -rf src && echo new > new.txt');
      await restoreWorkspace(driver, source, second.snapshotId, store);
      assert.equal(
        await sh(driver, source, 'cat src/hello.txt; ls new.txt 2>/dev/null || true'),
        'hello\nchanged\n',
      );
    });

    it('restores many files the size of chunks byte for byte, through a few reused buffers', async () => {
      // Small chunks, so that most chunks lend pieces to the stream and some share small files.
      await sh(driver, source, MANY_FILES_SCRIPT);
      const chunking = { minBytes: 64 * 1024, maskBits: 17, maxBytes: 512 * 1024 };
      const saved = await saveWorkspace(driver, source, newSnapshotId(), store, { chunking });
      const checked = await checkSnapshot(store, saved.snapshotId);
      assert.ok(checked.chunks.length > 60, `${checked.chunks.length} chunks`);
      let made = -1;
      await replaceWorkspaceFiles(
        driver,
        target,
        manifestTar(store, checked, undefined, { onDone: (n) => (made = n) }),
      );
      assert.deepEqual(
        await listing(driver, target),
        (await listing(driver, source)).filter((l) => !notSaved(l)),
      );
      // Each buffer went back into use once the driver's connection took its bytes.
      assert.ok(made >= 1 && made <= 12, `${made} chunk buffers`);
    });

    it('restores into a stopped-then-started workspace what it saved, byte for byte', async () => {
      await driver.stop(target);
      await driver.start(target);
      const sum = await sh(driver, target, 'sha256sum big.bin');
      assert.equal(sum, await sh(driver, source, 'sha256sum big.bin'));
    });
  });
}
