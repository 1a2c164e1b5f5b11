/**
 * A snapshot's manifest in the store: written last (a snapshot exists once its manifest does),
 * read back with a bound on its size and parsed against the contract.
 *
 * Versions: this runner writes version 2 (content-defined chunks across files) and still reads
 * version 1 (each file cut on its own every 4 MiB), so snapshots taken before stay restorable
 * and their chunks stay named for the prune. A version past these (a newer runner's) is refused
 * with an error that says so, never read as something it is not.
 */
import {
  AnySnapshotManifest,
  type AnySnapshotManifest as Manifest,
  SNAPSHOT_MANIFEST_VERSIONS,
  type SnapshotManifest,
  snapshotStoreKeys,
} from '@keel/contract/snapshots';
import { JobError } from '../job-error.ts';
import type { SnapshotStore } from './store.ts';

/** A manifest past this is not read (parsing it would cost the runner several times as much memory): about 700,000 entries. */
export const MANIFEST_MAX_BYTES = 128 * 1024 * 1024;

export async function writeManifest(store: SnapshotStore, manifest: SnapshotManifest): Promise<number> {
  const bytes = Buffer.from(JSON.stringify(manifest));
  if (bytes.byteLength > MANIFEST_MAX_BYTES) {
    throw new JobError(
      'too_large',
      `the workspace has too many entries for one snapshot (${manifest.entries.length})`,
    );
  }
  await store.put(snapshotStoreKeys.manifest(manifest.snapshotId), bytes);
  return bytes.byteLength;
}

export async function readManifest(store: SnapshotStore, snapshotId: string): Promise<Manifest> {
  const bytes = await store.get(snapshotStoreKeys.manifest(snapshotId), MANIFEST_MAX_BYTES);
  if (!bytes) throw new JobError('not_found', `snapshot ${snapshotId} is not in the snapshot store`);
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new JobError('invalid', `the manifest of snapshot ${snapshotId} is not JSON`);
  }
  const v = (raw as { v?: unknown } | null)?.v;
  if (typeof v === 'number' && !(SNAPSHOT_MANIFEST_VERSIONS as readonly number[]).includes(v)) {
    throw new JobError(
      'invalid',
      `snapshot ${snapshotId} has manifest version ${v}, which this runner cannot read (it reads ${SNAPSHOT_MANIFEST_VERSIONS.join(' and ')}): restore it with a newer runner`,
    );
  }
  const parsed = AnySnapshotManifest.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new JobError(
      'invalid',
      `the manifest of snapshot ${snapshotId} is unreadable (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})`,
    );
  }
  if (parsed.data.snapshotId !== snapshotId) {
    throw new JobError('invalid', `the manifest under ${snapshotId} names another snapshot`);
  }
  return parsed.data;
}
