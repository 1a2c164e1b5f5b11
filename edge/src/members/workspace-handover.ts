import { CONTRACT_VERSION } from '@keel/contract/version';
import { workspaces } from '@keel/drizzle/schema';
import { and, eq, isNull } from 'drizzle-orm';
import type { Services } from '../services.ts';
import { pendingSnapshot } from '../snapshots/request.ts';
import { loadSnapshotStore } from '../snapshots/store-settings.ts';
import {
  assertRunnerServes,
  forgetWorkspaceRow,
  liveStatuses,
  queueOf,
  type WorkspaceRow,
} from '../workspaces/access.ts';
import { invalidate, listScope } from '../workspaces/cache.ts';
import { currentStatus } from '../workspaces/lifecycle-conflicts.ts';
import type { Tx } from './membership-lock.ts';

/** Statuses in which a workspace may be using its runner: a handover stops it first. */
const ACTIVE = new Set(['creating', 'starting', 'running']);

/**
 * Inside the removal's transaction: the person's workspaces in the organization change hands
 * (`transferTo`) or are marked for deletion, so the membership and its workspaces change
 * together. Returns the rows as they were, for the jobs sent after the commit.
 */
export async function handOverInTx(
  tx: Tx,
  now: Date,
  userId: string,
  organizationId: string,
  transferTo: string | null,
): Promise<WorkspaceRow[]> {
  const owned = and(
    eq(workspaces.ownerId, userId),
    eq(workspaces.organizationId, organizationId),
    isNull(workspaces.deletedAt),
  );
  const rows = await tx.select().from(workspaces).where(owned).for('update');
  if (rows.length === 0) return rows;
  if (transferTo) {
    await tx.update(workspaces).set({ ownerId: transferTo, updatedAt: now }).where(owned);
  } else {
    await tx.update(workspaces).set({ status: 'deleting', deletedAt: now, updatedAt: now }).where(owned);
  }
  return rows;
}

/**
 * After the commit, through the same jobs the lifecycle routes send: a workspace handed over is
 * stopped if it was running (its files saved first when the install's store says so), one
 * deleted is removed from its runner. A workspace whose runner is offline is handed over as it
 * stands; its runner reports it when it is back.
 */
export async function sendHandoverJobs(
  services: Services,
  rows: readonly WorkspaceRow[],
  mode: 'transfer' | 'delete',
  actorId: string,
): Promise<void> {
  if (rows.length === 0) return;
  const live = await liveStatuses(services, [...rows]);
  const saveOnStop = mode === 'transfer' && (await loadSnapshotStore(services.db)).onStop;
  for (const row of rows) {
    if (row.runnerId) {
      if (mode === 'delete') {
        await services.queue.enqueue(queueOf(row), {
          v: CONTRACT_VERSION,
          type: 'workspace.delete',
          workspaceId: row.id,
          generation: row.generation,
        });
      } else if (ACTIVE.has(currentStatus(row, live.get(row.id))) && !row.move) {
        try {
          await assertRunnerServes(services, row);
        } catch {
          continue;
        }
        const saved = saveOnStop
          ? { snapshotId: (await pendingSnapshot(services, row, 'stop', actorId)).id }
          : {};
        await services.queue.enqueue(queueOf(row), {
          v: CONTRACT_VERSION,
          type: 'workspace.stop',
          workspaceId: row.id,
          generation: row.generation,
          ...saved,
        });
        await services.db
          .update(workspaces)
          .set({ status: 'stopping', statusReason: null, updatedAt: services.clock.now() })
          .where(eq(workspaces.id, row.id));
      }
    }
    await forgetWorkspaceRow(services, row.id);
  }
  await invalidate(services, listScope(rows[0]!.organizationId));
}
