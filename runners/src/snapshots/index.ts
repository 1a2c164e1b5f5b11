/**
 * Snapshots of a workspace's `/workspace` in the snapshot store (see contract/snapshots): taken
 * from a tar stream read inside the workspace, cut into content-addressed chunks, and restored
 * by a tar stream written inside it, every entry checked first.
 */
import type { SnapshotJobResult, SnapshotReason } from '@keel/contract/snapshots';
import { JobError } from '../job-error.ts';
import type { RunnerContext } from '../runner-context.ts';

export interface TakeSnapshot {
  workspaceId: string;
  snapshotId: string;
  reason: SnapshotReason;
  /** The generation the runner holds the workspace at, sent with the report (fencing). */
  generation: number;
}

/**
 * Saves the workspace's files as snapshot `snapshotId` (pending at the edge) and reports it
 * complete (or failed) to the edge. The workspace must be running (its files are read inside it).
 */
export async function takeSnapshot(_ctx: RunnerContext, _take: TakeSnapshot): Promise<SnapshotJobResult> {
  throw new JobError('internal', 'snapshots are not built yet');
}

/**
 * Replaces the running workspace's `/workspace` with the snapshot's files. Every manifest entry
 * is checked first: none may write outside `/workspace`.
 */
export async function restoreSnapshot(
  _ctx: RunnerContext,
  _workspaceId: string,
  _snapshotId: string,
): Promise<{ files: number; bytes: number }> {
  throw new JobError('internal', 'snapshots are not built yet');
}
