import { snapshotRoutes as routes } from '@keel/contract/api/snapshots';
import { CreateSnapshotRequest } from '@keel/contract/snapshots';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { WorkspaceIdParam, type WorkspaceStatus } from '@keel/contract/workspaces';
import { snapshots } from '@keel/drizzle/schema';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { type AuditMetadata, appendAudit } from '../audit/audit-log.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { jobTraceOf } from '../http/job-trace.ts';
import { readOptionalJson, readParams } from '../http/validate.ts';
import { loadSnapshot } from '../snapshots/access.ts';
import { enqueueSnapshotJob, pendingSnapshot, placementOf, snapshotView } from '../snapshots/request.ts';
import { sendPrune } from '../snapshots/retention.ts';
import {
  assertRunnerServes,
  liveStatuses,
  loadWorkspace,
  queueOf,
  type WorkspaceRow,
} from '../workspaces/access.ts';

/** A snapshot reads files where they lie: a workspace being made, moved or removed has none to read. */
const SNAPSHOT_FROM: readonly WorkspaceStatus[] = ['running', 'stopped'];
/** A restore waits for nothing: a workspace with no place yet, moving, or going away is refused. */
const NO_RESTORE: readonly WorkspaceStatus[] = ['queued', 'relocating', 'deleting'];

/** Ids are checked by `loadWorkspace` and `loadSnapshot` (a malformed one is a 404, like a missing one). */
const Params = z.object({ id: z.string().max(128), snapshotId: z.string().max(128) });

async function currentStatus(c: Context<AppEnv>, row: WorkspaceRow): Promise<WorkspaceStatus> {
  const live = (await liveStatuses(c.get('services'), [row])).get(row.id);
  return (live?.status ?? row.status) as WorkspaceStatus;
}

async function audit(
  c: Context<AppEnv>,
  action: string,
  row: WorkspaceRow,
  snapshotId: string,
  metadata?: AuditMetadata,
) {
  const p = c.get('principal');
  await appendAudit(c.get('services'), {
    action,
    outcome: 'success',
    actorId: p.userId,
    organizationId: row.organizationId,
    workspaceId: row.id,
    targetId: snapshotId,
    metadata,
  });
}

/**
 * A workspace's snapshots, for whoever may see the workspace (its owner, or an admin of its
 * organization; anyone else a 404). Taking, deleting and restoring them needs the developer role.
 */
export function workspaceSnapshotRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/workspaces');

  on(routes.listSnapshots, async (c) => {
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    const rows = await c
      .get('services')
      .db.select()
      .from(snapshots)
      .where(and(eq(snapshots.workspaceId, row.id), isNull(snapshots.deletedAt)))
      .orderBy(desc(snapshots.createdAt), desc(snapshots.id))
      .limit(1000);
    return reply(c, routes.listSnapshots, 200, { snapshots: rows.map(snapshotView) });
  });

  on(routes.createSnapshot, async (c) => {
    const services = c.get('services');
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    const input = await readOptionalJson(c, CreateSnapshotRequest);
    await assertRunnerServes(services, row);
    const status = await currentStatus(c, row);
    if (!SNAPSHOT_FROM.includes(status)) {
      throw new ApiError('conflict', `The workspace is ${status}; a snapshot needs it running or stopped`);
    }
    const snapshot = await pendingSnapshot(services, row, 'manual', c.get('principal').userId, input.pinned);
    await enqueueSnapshotJob(services, snapshot, jobTraceOf(c));
    await audit(c, 'snapshot.create', row, snapshot.id, { pinned: snapshot.pinned });
    return reply(c, routes.createSnapshot, 202, { snapshot: snapshotView(snapshot) });
  });

  on(routes.deleteSnapshot, async (c) => {
    const services = c.get('services');
    const params = readParams(c, Params);
    const row = await loadWorkspace(c, params.id);
    const snapshot = await loadSnapshot(c, row, params.snapshotId);
    const [deleted] = await services.db
      .update(snapshots)
      .set({ deletedAt: services.clock.now() })
      .where(and(eq(snapshots.id, snapshot.id), isNull(snapshots.deletedAt)))
      .returning({ id: snapshots.id });
    if (!deleted) throw new ApiError('not_found', 'No such snapshot of this workspace');
    await sendPrune(services, [snapshot.id], row.organizationId, row.runnerId);
    await audit(c, 'snapshot.delete', row, snapshot.id);
    return c.body(null, 204);
  });

  on(routes.restoreSnapshot, async (c) => {
    const services = c.get('services');
    const params = readParams(c, Params);
    const row = await loadWorkspace(c, params.id);
    const snapshot = await loadSnapshot(c, row, params.snapshotId);
    if (snapshot.status !== 'ready' || !snapshot.takenAt) {
      throw new ApiError('conflict', `The snapshot is ${snapshot.status}, not ready`);
    }
    const status = await currentStatus(c, row);
    if (NO_RESTORE.includes(status)) {
      throw new ApiError('conflict', `The workspace is ${status}; restore it once it has settled`);
    }
    await assertRunnerServes(services, row);
    const placement = (await placementOf(services, row.id)) ?? row;
    await services.queue.enqueue(
      queueOf({ ...row, runnerId: placement.runnerId }),
      {
        v: CONTRACT_VERSION,
        type: 'workspace.restore',
        workspaceId: row.id,
        generation: placement.generation,
        snapshotId: snapshot.id,
        snapshotTakenAt: snapshot.takenAt.toISOString(),
      },
      { trace: jobTraceOf(c) },
    );
    await audit(c, 'workspace.restore', row, snapshot.id, {
      takenAt: snapshot.takenAt.toISOString(),
    });
    return reply(c, routes.restoreSnapshot, 202, { id: row.id, status, snapshotId: snapshot.id });
  });

  return app;
}
