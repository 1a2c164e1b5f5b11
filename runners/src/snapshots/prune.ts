/**
 * Deleting snapshots: their manifests first, then (when asked) every chunk that no remaining
 * manifest names and that is older than the grace period, so that a snapshot in progress
 * (chunks written, manifest not yet) keeps what it wrote.
 */
import { snapshotStoreKeys } from '@keel/contract/snapshots';
import { JobError } from '../job-error.ts';
import { MANIFEST_MAX_BYTES, readManifest } from './manifest.ts';
import type { SnapshotStore } from './store.ts';

export const CHUNK_GRACE_MS = 60 * 60 * 1000;
const MANIFEST_KEY = /^manifests\/(snp_[a-z2-7]{20})\.json$/;
const CHUNK_KEY = /^chunks\/[0-9a-f]{2}\/([0-9a-f]{64})$/;

export interface PruneResult {
  manifestsDeleted: number;
  chunksDeleted: number;
  chunksKept: number;
}

export async function pruneSnapshots(
  store: SnapshotStore,
  snapshotIds: string[],
  opts: { collectChunks: boolean; graceMs?: number; now?: number },
): Promise<PruneResult> {
  await store.delete(snapshotIds.map((id) => snapshotStoreKeys.manifest(id)));
  const out: PruneResult = { manifestsDeleted: snapshotIds.length, chunksDeleted: 0, chunksKept: 0 };
  if (!opts.collectChunks) return out;
  // Listed before the manifests are read: a chunk written after this list is not a candidate.
  const cutoff = (opts.now ?? Date.now()) - (opts.graceMs ?? CHUNK_GRACE_MS);
  const candidates: string[] = [];
  for await (const o of store.list('chunks/')) {
    const m = CHUNK_KEY.exec(o.key);
    if (!m || o.key !== snapshotStoreKeys.chunk(m[1]!)) continue;
    if (o.modifiedMs < cutoff) candidates.push(m[1]!);
  }
  if (candidates.length === 0) return out;
  const named = new Set<string>();
  for await (const o of store.list('manifests/')) {
    const m = MANIFEST_KEY.exec(o.key);
    if (!m) continue;
    try {
      const manifest = await readManifest(store, m[1]!);
      if (manifest.v === 1) {
        for (const e of manifest.entries) if (e.type === 'file') for (const c of e.chunks) named.add(c);
      } else for (const c of manifest.chunks) named.add(c.hash);
    } catch (err) {
      // A manifest that cannot be read may still name chunks: deleting none is the safe side.
      if (err instanceof JobError && err.code === 'not_found') continue;
      throw new JobError(
        'internal',
        `no chunks were deleted: the manifest ${m[1]} could not be read (${err instanceof Error ? err.message : String(err)}; limit ${MANIFEST_MAX_BYTES} bytes)`,
      );
    }
  }
  const doomed = candidates.filter((h) => !named.has(h));
  out.chunksKept = candidates.length - doomed.length;
  await store.delete(doomed.map((h) => snapshotStoreKeys.chunk(h)));
  out.chunksDeleted = doomed.length;
  return out;
}
