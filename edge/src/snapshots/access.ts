/**
 * Who may see a snapshot: whoever may see its workspace (its owner, or an admin of its
 * organization). Anyone else gets the same 404 as for a snapshot that is not there.
 */
import { idSchema } from '@keel/contract/ids';
import { snapshots, workspaces } from '@keel/drizzle/schema';
import { and, eq, isNull } from 'drizzle-orm';
import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { canSeeAll, type WorkspaceRow } from '../workspaces/access.ts';
import type { SnapshotRow } from './request.ts';

/** A snapshot of this workspace (the caller may see the workspace already), not deleted. */
export async function loadSnapshot(
  c: Context<AppEnv>,
  workspace: WorkspaceRow,
  snapshotId: string,
): Promise<SnapshotRow> {
  if (!idSchema('snapshot').safeParse(snapshotId).success)
    throw new ApiError('not_found', 'No such snapshot');
  const [row] = await c
    .get('services')
    .db.select()
    .from(snapshots)
    .where(
      and(
        eq(snapshots.id, snapshotId),
        eq(snapshots.workspaceId, workspace.id),
        eq(snapshots.organizationId, workspace.organizationId),
        isNull(snapshots.deletedAt),
      ),
    )
    .limit(1);
  if (!row) throw new ApiError('not_found', 'No such snapshot of this workspace');
  return row;
}

/**
 * The snapshot a new workspace starts from: ready, of a live workspace of the caller's
 * organization that the caller may see. Answers what the create job carries besides the source.
 */
export async function snapshotSource(
  c: Context<AppEnv>,
  snapshotId: string,
): Promise<{ snapshotTakenAt: string }> {
  const p = c.get('principal');
  const [found] = await c
    .get('services')
    .db.select({ snapshot: snapshots, ownerId: workspaces.ownerId })
    .from(snapshots)
    .innerJoin(workspaces, eq(workspaces.id, snapshots.workspaceId))
    .where(
      and(
        eq(snapshots.id, snapshotId),
        eq(snapshots.organizationId, p.organizationId),
        eq(workspaces.organizationId, p.organizationId),
        isNull(snapshots.deletedAt),
        isNull(workspaces.deletedAt),
      ),
    )
    .limit(1);
  if (!found || (found.ownerId !== p.userId && !canSeeAll(p))) {
    throw new ApiError('not_found', 'No such snapshot');
  }
  if (found.snapshot.status !== 'ready' || !found.snapshot.takenAt) {
    throw new ApiError('conflict', `The snapshot is ${found.snapshot.status}, not ready`);
  }
  return { snapshotTakenAt: found.snapshot.takenAt.toISOString() };
}
