/**
 * Snapshots as the edge sees them: rows in `snapshots`, asked of the workspace's runner by job.
 */
import type { SnapshotReason } from '@keel/contract/snapshots';
import type { snapshots, workspaces } from '@keel/drizzle/schema';
import type { Services } from '../services.ts';

export type SnapshotRow = typeof snapshots.$inferSelect;
type WorkspaceRow = typeof workspaces.$inferSelect;

/** Inserts a pending snapshot row for the workspace at its current generation; no job. */
export async function pendingSnapshot(
  _services: Services,
  _workspace: WorkspaceRow,
  _reason: SnapshotReason,
  _createdBy: string | null,
  _pinned = false,
): Promise<SnapshotRow> {
  throw new Error('snapshots are not built yet');
}

/** The newest ready snapshot of a workspace, or undefined. */
export async function latestReadySnapshot(
  _services: Services,
  _workspaceId: string,
): Promise<SnapshotRow | undefined> {
  throw new Error('snapshots are not built yet');
}

/** Asks running workspaces whose last snapshot is older than the interval for a new one (sweep). */
export async function requestScheduledSnapshots(_services: Services): Promise<void> {}
