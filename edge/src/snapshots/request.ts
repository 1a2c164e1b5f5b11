/**
 * Snapshots as the edge sees them: rows in `snapshots`, asked of the workspace's runner by job.
 */
import { runnerQueueName } from '@keel/contract/keys';
import type { SnapshotReason, SnapshotView } from '@keel/contract/snapshots';
import type { JobTrace } from '@keel/contract/trace';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { snapshots, workspaces } from '@keel/drizzle/schema';
import { and, asc, desc, eq, gt, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import { newId } from '../ids.ts';
import type { Services } from '../services.ts';
import { liveStatuses } from '../workspaces/access.ts';
import { loadSnapshotStore } from './store-settings.ts';

export type SnapshotRow = typeof snapshots.$inferSelect;
type WorkspaceRow = typeof workspaces.$inferSelect;

/** A snapshot asked for and not answered this long is asked again by the schedule. */
export const PENDING_SNAPSHOT_PATIENCE_MINUTES = 10;
/** Scheduled snapshots asked for in one sweep, so one sweep stays short whatever the fleet's size. */
export const SCHEDULED_SNAPSHOTS_PER_SWEEP = 20;
/** Workspaces one sweep looks at to find them (their live status is read in batches of this many). */
const SCHEDULE_BATCH = 500;
const SCHEDULE_SCAN_LIMIT = 4 * SCHEDULE_BATCH;

/**
 * Inserts a pending snapshot row for the workspace at its current generation; no job. The
 * runner and generation are read from the database, not from the caller's (possibly cached)
 * row: the job sent for it must carry the placement that holds now, or the runner refuses it.
 */
export async function pendingSnapshot(
  services: Services,
  workspace: WorkspaceRow,
  reason: SnapshotReason,
  createdBy: string | null,
  pinned = false,
): Promise<SnapshotRow> {
  const current = await placementOf(services, workspace.id);
  const [row] = await services.db
    .insert(snapshots)
    .values({
      id: newId('snapshot'),
      workspaceId: workspace.id,
      organizationId: workspace.organizationId,
      reason,
      status: 'pending',
      generation: current?.generation ?? workspace.generation,
      runnerId: current ? current.runnerId : workspace.runnerId,
      pinned,
      createdBy,
      createdAt: services.clock.now(),
    })
    .returning();
  return row!;
}

/**
 * Where the workspace is held now (runner and generation), read from the database: the row
 * the routes read is cached, and a job must carry the placement that holds, or it is refused.
 */
export async function placementOf(
  services: Services,
  workspaceId: string,
): Promise<{ generation: number; runnerId: string | null } | undefined> {
  const [current] = await services.db
    .select({ generation: workspaces.generation, runnerId: workspaces.runnerId })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId))
    .limit(1);
  return current;
}

/** The newest ready snapshot of a workspace, or undefined. */
export async function latestReadySnapshot(
  services: Services,
  workspaceId: string,
): Promise<SnapshotRow | undefined> {
  const [row] = await services.db
    .select()
    .from(snapshots)
    .where(
      and(eq(snapshots.workspaceId, workspaceId), eq(snapshots.status, 'ready'), isNull(snapshots.deletedAt)),
    )
    .orderBy(desc(snapshots.takenAt), desc(snapshots.createdAt))
    .limit(1);
  return row;
}

/** Sends the runner that holds the snapshot's workspace the job that saves it. */
export async function enqueueSnapshotJob(
  services: Services,
  snapshot: SnapshotRow,
  trace?: JobTrace,
): Promise<void> {
  if (!snapshot.runnerId) return;
  await services.queue.enqueue(
    runnerQueueName(snapshot.runnerId),
    {
      v: CONTRACT_VERSION,
      type: 'workspace.snapshot',
      workspaceId: snapshot.workspaceId,
      generation: snapshot.generation,
      snapshotId: snapshot.id,
      reason: snapshot.reason as SnapshotReason,
    },
    trace ? { trace } : {},
  );
}

/** Asks running workspaces whose last snapshot is older than the interval for a new one (sweep). */
export async function requestScheduledSnapshots(services: Services): Promise<void> {
  const { intervalMinutes } = await loadSnapshotStore(services.db);
  if (intervalMinutes <= 0) return;
  const now = services.clock.now().getTime();
  const fresh = new Date(now - intervalMinutes * 60_000);
  const patience = new Date(now - PENDING_SNAPSHOT_PATIENCE_MINUTES * 60_000);
  // Due: no ready snapshot newer than the interval, and none asked for (or failed) lately, so
  // a runner that cannot save one is asked again every few minutes, not at every sweep.
  const notDue = sql`exists (select 1 from ${snapshots} s where s.workspace_id = ${workspaces.id}
    and s.deleted_at is null
    and ((s.status = 'ready' and s.taken_at > ${fresh.toISOString()})
      or (s.status in ('pending', 'failed') and s.created_at > ${patience.toISOString()})))`;
  let asked = 0;
  let after = '';
  // Whether a workspace runs is known only to Redis (its runner writes it there): candidates are
  // read from the database in batches, in id order, until enough are found or the scan's bound.
  for (let scanned = 0; scanned < SCHEDULE_SCAN_LIMIT && asked < SCHEDULED_SNAPSHOTS_PER_SWEEP; ) {
    const batch = await services.db
      .select()
      .from(workspaces)
      .where(
        and(
          isNull(workspaces.deletedAt),
          isNotNull(workspaces.runnerId),
          // A workspace's first scheduled snapshot comes an interval after it was made.
          lt(workspaces.createdAt, fresh),
          gt(workspaces.id, after),
          sql`not ${notDue}`,
        ),
      )
      .orderBy(asc(workspaces.id))
      .limit(SCHEDULE_BATCH);
    if (batch.length === 0) break;
    scanned += batch.length;
    after = batch[batch.length - 1]!.id;
    const live = await liveStatuses(services, batch);
    for (const row of batch) {
      if (asked >= SCHEDULED_SNAPSHOTS_PER_SWEEP) break;
      if ((live.get(row.id)?.status ?? row.status) !== 'running') continue;
      await enqueueSnapshotJob(services, await pendingSnapshot(services, row, 'schedule', null));
      asked++;
    }
    if (batch.length < SCHEDULE_BATCH) break;
  }
}

export function snapshotView(row: SnapshotRow): SnapshotView {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    reason: row.reason as SnapshotView['reason'],
    status: row.status as SnapshotView['status'],
    error: row.error,
    files: row.files,
    bytes: row.bytes,
    bytesWritten: row.bytesWritten,
    pinned: row.pinned,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    takenAt: row.takenAt?.toISOString() ?? null,
  };
}
