/**
 * Snapshot and restore of one running workload, given its driver and the store: the parts of
 * `takeSnapshot`/`restoreSnapshot` that need neither the edge nor Redis (tests and the bench
 * call these directly).
 */
import {
  type AnySnapshotManifest,
  type ManifestChunk,
  type SnapshotManifest,
  snapshotStoreKeys,
} from '@keel/contract/snapshots';
import { JobError } from '../job-error.ts';
import type { WorkloadDriver } from '../workloads/types.ts';
import { type ChunkedTree, chunkTree } from './chunker.ts';
import type { ChunkingOptions } from './content-chunker.ts';
import { BadEntryError, type CheckedManifest, checkManifest } from './entry-checks.ts';
import { readManifest, writeManifest } from './manifest.ts';
import type { SnapshotStore } from './store.ts';
import { manifestTar, type WriteStats } from './tar-writer.ts';
import { readWorkspaceTar, replaceWorkspaceFiles } from './workspace-tar.ts';

export interface SavedSnapshot extends Omit<ChunkedTree, 'entries' | 'chunks'> {
  snapshotId: string;
  takenAt: string;
  manifestBytes: number;
}

/** Reads the running workload's `/workspace` into the store as snapshot `snapshotId`. */
export async function saveWorkspace(
  driver: WorkloadDriver,
  workspaceId: string,
  snapshotId: string,
  store: SnapshotStore,
  opts: { chunking?: ChunkingOptions; known?: Set<string> } = {},
): Promise<SavedSnapshot> {
  const takenAt = new Date().toISOString();
  const reading = readWorkspaceTar(driver, workspaceId);
  let tree: ChunkedTree;
  try {
    tree = await chunkTree(reading.tar, store, opts);
  } catch (err) {
    await reading.kill().catch(() => {});
    // tar's own failure says more than the stream it cut short.
    await reading.done;
    throw err;
  }
  await reading.done;
  const manifest: SnapshotManifest = {
    v: 2,
    snapshotId,
    workspaceId,
    takenAt,
    chunks: tree.chunks,
    entries: tree.entries,
  };
  // What a restore would refuse is not saved as a snapshot either.
  try {
    checkManifest(manifest);
  } catch (err) {
    if (err instanceof BadEntryError)
      throw new JobError('invalid', `the workspace cannot be saved: ${err.message}`);
    throw err;
  }
  const manifestBytes = await writeManifest(store, manifest);
  const { entries: _, chunks: __, ...counts } = tree;
  return {
    ...counts,
    bytesWritten: counts.bytesWritten + manifestBytes,
    snapshotId,
    takenAt,
    manifestBytes,
  };
}

/** A snapshot read and checked, ready to write. */
export interface CheckedSnapshot extends CheckedManifest {
  manifest: AnySnapshotManifest;
}

/**
 * Reads snapshot `snapshotId`'s manifest, checks every entry and looks up every chunk: a
 * refused (JobError `invalid`) or incomplete (`not_found`) snapshot is found before anything
 * in the workspace changes.
 */
export async function checkSnapshot(store: SnapshotStore, snapshotId: string): Promise<CheckedSnapshot> {
  const manifest = await readManifest(store, snapshotId);
  let checked: CheckedManifest;
  try {
    checked = checkManifest(manifest);
  } catch (err) {
    if (err instanceof BadEntryError) {
      throw new JobError('invalid', `snapshot ${snapshotId} was refused: ${err.message}`);
    }
    throw err;
  }
  await assertChunksPresent(store, checked.chunks);
  return { manifest, ...checked };
}

/**
 * Replaces the running workload's `/workspace` with snapshot `snapshotId` (see checkSnapshot:
 * a refused snapshot leaves the workspace as it was). A chunk that turns out corrupt while
 * writing stops the restore with the workspace partly written.
 */
export async function restoreWorkspace(
  driver: WorkloadDriver,
  workspaceId: string,
  snapshotId: string,
  store: SnapshotStore,
  checked?: CheckedSnapshot,
): Promise<WriteStats & { takenAt: string }> {
  const snapshot = checked ?? (await checkSnapshot(store, snapshotId));
  const stats: WriteStats = { files: 0, bytes: 0 };
  await replaceWorkspaceFiles(driver, workspaceId, manifestTar(store, snapshot, stats));
  return { ...stats, takenAt: snapshot.manifest.takenAt };
}

async function assertChunksPresent(store: SnapshotStore, chunks: ManifestChunk[]): Promise<void> {
  const hashes = [...new Set(chunks.map((c) => c.hash))];
  const parallel = store.kind === 's3' ? 16 : 8;
  let next = 0;
  let missing: string | undefined;
  await Promise.all(
    Array.from({ length: Math.min(parallel, hashes.length) }, async () => {
      while (next < hashes.length && !missing) {
        const h = hashes[next++]!;
        if (!(await store.has(snapshotStoreKeys.chunk(h)))) missing = h;
      }
    }),
  );
  if (missing) throw new JobError('not_found', `the snapshot store lacks chunk ${missing} of this snapshot`);
}
