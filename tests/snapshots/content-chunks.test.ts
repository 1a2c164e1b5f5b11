/**
 * Content-defined chunks, below the workload drivers: the chunker on its own, then GNU tar of a
 * real folder (thousands of small files and a large one) through chunkTree into the folder
 * store, and a checked manifest written back out through GNU tar. What each must hold: small
 * files share chunks, a changed file rewrites only the chunks around it, an unchanged tree
 * writes nothing, a corrupt or missing chunk fails the restore by name, and a version 1
 * snapshot (each file cut on its own) still restores and keeps its chunks through a prune.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { type SnapshotManifest, snapshotStoreKeys } from '@keel/contract/snapshots';
import { JobError } from '../../runners/src/job-error.ts';
import { chunkTree } from '../../runners/src/snapshots/chunker.ts';
import { ContentChunker, DEFAULT_CHUNKING } from '../../runners/src/snapshots/content-chunker.ts';
import { checkSnapshot } from '../../runners/src/snapshots/engine.ts';
import { FolderStore } from '../../runners/src/snapshots/folder-store.ts';
import { writeManifest } from '../../runners/src/snapshots/manifest.ts';
import { pruneSnapshots } from '../../runners/src/snapshots/prune.ts';
import { manifestTar } from '../../runners/src/snapshots/tar-writer.ts';
import { newSnapshotId, workspaceIdFor } from './engine-tree.ts';

const { minBytes, maxBytes } = DEFAULT_CHUNKING;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function cut(data: Buffer, pieces: number[]): Buffer[] {
  const c = new ContentChunker();
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const n = pieces[i % pieces.length]!;
    out.push(...c.push(data.subarray(at, at + n)).map((b) => Buffer.from(b)));
    at += n;
  }
  const last = c.end();
  if (last) out.push(Buffer.from(last));
  return out;
}

describe('content-defined chunker', () => {
  const data = randomBytes(24 * 1024 * 1024);

  it('cuts the same places however the bytes arrive, within its bounds, losing nothing', () => {
    const a = cut(data, [65536]);
    const b = cut(data, [1, 7000, 1 << 20, 333, 5 * 1024 * 1024]);
    assert.deepEqual(a.map(sha), b.map(sha));
    assert.ok(Buffer.concat(a).equals(data));
    assert.ok(a.slice(0, -1).every((c) => c.length >= minBytes && c.length <= maxBytes));
    assert.ok(a.length >= 24 / 4 && a.length <= 24, `${a.length} chunks`);
  });

  it('a byte inserted mid-stream changes only the chunk around it', () => {
    const before_ = cut(data, [65536]).map(sha);
    const at = 10 * 1024 * 1024 + 12345;
    const changed = Buffer.concat([data.subarray(0, at), Buffer.from('x'), data.subarray(at)]);
    const after_ = cut(changed, [65536]).map(sha);
    const known = new Set(before_);
    const fresh = after_.filter((h) => !known.has(h));
    assert.ok(fresh.length >= 1 && fresh.length <= 2, `${fresh.length} new chunks`);
  });

  it('cuts a run of zeros at the maximum, and every such chunk is the same one', () => {
    const zeros = cut(Buffer.alloc(3 * maxBytes + 10), [1 << 20]);
    assert.deepEqual(
      zeros.map((c) => c.length),
      [maxBytes, maxBytes, maxBytes, 10],
    );
    assert.equal(new Set(zeros.slice(0, 3).map(sha)).size, 1);
  });
});

/** GNU tar's output for `dir`, as the workspace's own tar gives it. */
function tarOf(dir: string): { tar: Readable; done: Promise<void> } {
  // Sorted by name: the order a folder lists its files in differs between file systems.
  const child = spawn('tar', ['-C', dir, '--sort=name', '--numeric-owner', '-cf', '-', '.'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const done = new Promise<void>((resolve, reject) =>
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exit ${code}`)))),
  );
  return { tar: child.stdout, done };
}

/**
 * Bytes that look random but are the same in every run (AES-256-CTR of zeros under a key from
 * `seed`): where chunks fall depends on the bytes, and a test must not pass or fail by chance.
 */
function seededBytes(seed: string, n: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

/** Writes `tar` out into `dir` with GNU tar, as the restore does in the workspace. */
async function untar(dir: string, tar: Readable): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const child = spawn('tar', ['-C', dir, '-xpf', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let failure: unknown;
  tar.on('error', (err) => {
    failure ??= err;
    child.kill();
  });
  child.stdin.on('error', () => {});
  tar.pipe(child.stdin);
  await new Promise<void>((resolve) => child.once('close', () => resolve()));
  if (failure) throw failure;
}

async function snapshotOf(store: FolderStore, dir: string, known?: Set<string>) {
  const { tar, done } = tarOf(dir);
  const tree = await chunkTree(tar, store, known ? { known } : {});
  await done;
  const manifest: SnapshotManifest = {
    v: 2,
    snapshotId: newSnapshotId(),
    workspaceId: workspaceIdFor('chunks'),
    takenAt: new Date().toISOString(),
    chunks: tree.chunks,
    entries: tree.entries,
  };
  await writeManifest(store, manifest);
  return { tree, manifest };
}

async function objects(store: FolderStore): Promise<number> {
  let n = 0;
  for await (const _ of store.list('chunks/')) n++;
  return n;
}

describe('chunkTree and manifestTar through GNU tar (folder store)', () => {
  let base: string;
  let tree: string;
  let store: FolderStore;
  let first: Awaited<ReturnType<typeof snapshotOf>>;
  const SMALL = 3000;

  before(() => {
    base = mkdtempSync('/tmp/keel-snap-chunks-');
    tree = join(base, 'tree');
    for (let i = 0; i < SMALL; i++) {
      const d = join(tree, 'node_modules', `d${i % 50}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, `f${i}.js`), seededBytes(`small ${i}`, 1024 + ((i * 7919) % 15000)));
    }
    writeFileSync(join(tree, 'empty.txt'), '');
    writeFileSync(join(tree, 'big.bin'), seededBytes('big', 10 * 1024 * 1024));
    store = new FolderStore(join(base, 'store'));
  });

  after(() => rmSync(base, { recursive: true, force: true }));

  it('small files share chunks: thousands of files make tens of store objects', async () => {
    first = await snapshotOf(store, tree);
    assert.equal(first.tree.files, SMALL + 2);
    const chunks = first.manifest.chunks.length;
    assert.equal(first.tree.chunksWritten, chunks);
    assert.equal(await objects(store), chunks);
    assert.ok(
      chunks <= Math.ceil(first.tree.bytes / minBytes),
      `${chunks} chunks for ${first.tree.bytes} bytes`,
    );
    assert.ok(chunks < SMALL / 50);
  });

  it('restores every file byte for byte, files cut across chunks and many in one', async () => {
    const out = join(base, 'out');
    await untar(out, manifestTar(store, await checkSnapshot(store, first.manifest.snapshotId)));
    for (const e of first.manifest.entries) {
      if (e.type !== 'file') continue;
      assert.equal(sha(readFileSync(join(out, e.path))), sha(readFileSync(join(tree, e.path))), e.path);
    }
    rmSync(out, { recursive: true, force: true });
  });

  it('an unchanged tree writes no chunk again; one changed small file writes one or two', async () => {
    const same = await snapshotOf(store, tree);
    assert.equal(same.tree.chunksWritten, 0);
    assert.deepEqual(same.manifest.chunks, first.manifest.chunks);

    writeFileSync(join(tree, 'node_modules', 'd7', 'f1507.js'), 'a changed file\n');
    const second = await snapshotOf(store, tree);
    // Usually the chunk holding the file and maybe the next: a cut that falls within the bytes
    // skipped after the previous cut moves, and the cuts after it find the old ones again a
    // chunk or two later (with random bytes, 3 chunks in a few runs of a hundred).
    assert.ok(
      second.tree.chunksWritten >= 1 && second.tree.chunksWritten <= 3,
      `${second.tree.chunksWritten}`,
    );
    assert.ok(second.tree.bytesWritten <= 3 * maxBytes);
    assert.ok(second.tree.bytesWritten < first.tree.bytesWritten * 0.25);
    // A chunk the store already has is not written again, even within one run.
    const known = new Set<string>();
    const third = await snapshotOf(store, tree, known);
    assert.equal(third.tree.chunksWritten, 0);
    assert.equal(known.size, new Set(second.manifest.chunks.map((c) => c.hash)).size);
  });

  it('a corrupt chunk fails the restore by name; a missing one is found before anything is written', async () => {
    const { hash } = first.manifest.chunks[1]!;
    const path = join(store.root, snapshotStoreKeys.chunk(hash));
    const good = readFileSync(path);
    const bad = Buffer.from(good);
    bad[100] = (bad[100]! + 1) % 256;
    writeFileSync(path, bad);
    const checked = await checkSnapshot(store, first.manifest.snapshotId);
    await assert.rejects(
      untar(join(base, 'corrupt'), manifestTar(store, checked)),
      new RegExp(`chunk ${hash} in the snapshot store does not match its hash`),
    );
    rmSync(path);
    await assert.rejects(
      checkSnapshot(store, first.manifest.snapshotId),
      (e: unknown) =>
        e instanceof JobError && e.code === 'not_found' && e.message.includes(`lacks chunk ${hash}`),
    );
    writeFileSync(path, good);
  });

  it('a version 1 snapshot (each file cut on its own) still restores, and the prune keeps its chunks', async () => {
    const v1Store = new FolderStore(join(base, 'v1-store'));
    const chunkBytes = 64 * 1024;
    const files = [
      ['a.txt', Buffer.from('version one\n')],
      ['dir/b.bin', randomBytes(3 * chunkBytes + 17)],
      ['dir/empty', Buffer.alloc(0)],
    ] as const;
    const entries = [];
    for (const [path, data] of files) {
      const chunks: string[] = [];
      for (let at = 0; at < data.length; at += chunkBytes) {
        const piece = data.subarray(at, at + chunkBytes);
        chunks.push(sha(piece));
        await v1Store.put(snapshotStoreKeys.chunk(sha(piece)), piece);
      }
      entries.push({
        type: 'file',
        path,
        mode: 0o644,
        size: data.length,
        mtimeMs: 1_600_000_000_000,
        chunks,
      });
    }
    const snapshotId = newSnapshotId();
    await v1Store.put(
      snapshotStoreKeys.manifest(snapshotId),
      Buffer.from(
        JSON.stringify({
          v: 1,
          snapshotId,
          workspaceId: workspaceIdFor('chunks'),
          takenAt: new Date().toISOString(),
          chunkBytes,
          entries: [{ type: 'directory', path: 'dir', mode: 0o755, mtimeMs: 1_600_000_000_000 }, ...entries],
        }),
      ),
    );
    const out = join(base, 'v1-out');
    await untar(out, manifestTar(v1Store, await checkSnapshot(v1Store, snapshotId)));
    for (const [path, data] of files) assert.ok(readFileSync(join(out, path)).equals(data), path);
    const pruned = await pruneSnapshots(v1Store, [], {
      collectChunks: true,
      graceMs: 0,
      now: Date.now() + 5000,
    });
    assert.equal(pruned.chunksDeleted, 0);
    assert.equal(pruned.chunksKept, 5);
  });
});
