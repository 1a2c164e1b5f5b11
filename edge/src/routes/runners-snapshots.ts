import { RunnerSnapshotParam, snapshotRoutes as routes } from '@keel/contract/api/snapshots';
import { idSchema } from '@keel/contract/ids';
import { RunnerBeginSnapshotRequest, RunnerCompleteSnapshotRequest } from '@keel/contract/snapshots';
import { snapshots, workspaces } from '@keel/drizzle/schema';
import { and, eq, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson, readParams } from '../http/validate.ts';
import { newId } from '../ids.ts';
import { applyRetention, sendPrune } from '../snapshots/retention.ts';
import { callingRunner, fenced, heldWorkspace } from '../snapshots/runner-fence.ts';
import { loadSnapshotStore, storeAccess } from '../snapshots/store-settings.ts';

/**
 * What runners ask about snapshots: the store's access (over their own HTTPS call, audited
 * when it holds a secret; never through Redis), and the snapshots they begin and complete,
 * each fenced by the workspace's placement generation.
 */
export function runnerSnapshotRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/runners');

  on(routes.runnerSnapshotStore, async (c) => {
    const services = c.get('services');
    const runner = await callingRunner(services, c.get('runnerId'));
    const stored = await loadSnapshotStore(services.db);
    const access = await storeAccess(services, stored);
    if (!access) throw new ApiError('not_ready', 'The snapshot store has no secret set');
    if (access.kind === 's3') {
      // The store is the install's: its use is recorded in the install's chain.
      await appendAudit(services, {
        action: 'snapshot_store.access_used',
        outcome: 'success',
        organizationId: null,
        metadata: {
          runnerId: runner.id,
          runnerOrganization: runner.organizationId,
          secretFingerprint: stored.secretFingerprint,
        },
      });
    }
    c.header('Cache-Control', 'no-store');
    return reply(c, routes.runnerSnapshotStore, 200, { access, onStop: stored.onStop });
  });

  on(routes.runnerBeginSnapshot, async (c) => {
    const services = c.get('services');
    const runner = await callingRunner(services, c.get('runnerId'));
    const input = await readJson(c, RunnerBeginSnapshotRequest);
    const workspace = await heldWorkspace(
      services,
      runner,
      input.workspaceId,
      input.generation,
      'snapshot.begin',
    );
    const [row] = await services.db
      .insert(snapshots)
      .values({
        id: newId('snapshot'),
        workspaceId: workspace.id,
        organizationId: workspace.organizationId,
        reason: input.reason,
        status: 'pending',
        generation: input.generation,
        runnerId: runner.id,
        createdBy: null,
        createdAt: services.clock.now(),
      })
      .returning({ id: snapshots.id });
    return reply(c, routes.runnerBeginSnapshot, 201, { snapshotId: row!.id });
  });

  on(routes.runnerCompleteSnapshot, async (c) => {
    const services = c.get('services');
    const runner = await callingRunner(services, c.get('runnerId'));
    const { snapshotId } = readParams(c, RunnerSnapshotParam);
    if (!idSchema('snapshot').safeParse(snapshotId).success) {
      throw new ApiError('not_found', 'No such snapshot');
    }
    const input = await readJson(c, RunnerCompleteSnapshotRequest);
    const workspace = await heldWorkspace(
      services,
      runner,
      input.workspaceId,
      input.generation,
      'snapshot.complete',
    );
    const [snapshot] = await services.db
      .select()
      .from(snapshots)
      .where(and(eq(snapshots.id, snapshotId), eq(snapshots.workspaceId, workspace.id)))
      .limit(1);
    if (!snapshot) throw new ApiError('not_found', 'No such snapshot of this workspace');
    // Saved under an older placement: whatever this runner read is not the workspace's now.
    if (snapshot.generation !== input.generation) {
      await fenced(services, runner, workspace, input.generation, 'snapshot.complete', snapshot.id);
    }
    const values = input.ok
      ? {
          status: 'ready',
          error: null,
          files: input.files,
          bytes: input.bytes,
          bytesWritten: input.bytesWritten,
          takenAt: new Date(input.takenAt),
        }
      : { status: 'failed', error: input.error };
    // The fence again, in the same statement as the write: a move between the check above and
    // this write leaves the row as it was.
    const [recorded] = await services.db
      .update(snapshots)
      .set(values)
      .where(
        and(
          eq(snapshots.id, snapshot.id),
          eq(snapshots.status, 'pending'),
          eq(snapshots.generation, input.generation),
          sql`exists (select 1 from ${workspaces} w where w.id = ${workspace.id}
            and w.runner_id = ${runner.id} and w.generation = ${input.generation} and w.deleted_at is null)`,
        ),
      )
      .returning();
    if (!recorded) {
      // Reported already (a retried call): nothing more to do. Otherwise the workspace moved.
      const [now] = await services.db
        .select({ status: snapshots.status })
        .from(snapshots)
        .where(eq(snapshots.id, snapshot.id))
        .limit(1);
      if (now && now.status !== 'pending') {
        return reply(c, routes.runnerCompleteSnapshot, 200, { recorded: false });
      }
      await fenced(services, runner, workspace, input.generation, 'snapshot.complete', snapshot.id);
    }
    await appendAudit(services, {
      action: 'snapshot.complete',
      outcome: input.ok ? 'success' : 'failure',
      organizationId: workspace.organizationId,
      workspaceId: workspace.id,
      targetId: snapshot.id,
      metadata: input.ok
        ? {
            runnerId: runner.id,
            reason: snapshot.reason,
            files: input.files,
            bytes: input.bytes,
            bytesWritten: input.bytesWritten,
          }
        : { runnerId: runner.id, reason: snapshot.reason },
    });
    if (input.ok) {
      if (snapshot.deletedAt) {
        // Deleted while it was being saved: the prune sent then may have run before the manifest
        // was written, so it is asked again.
        await sendPrune(services, [snapshot.id], workspace.organizationId, runner.id);
      } else {
        const { retention } = await loadSnapshotStore(services.db);
        await applyRetention(services, workspace, retention);
      }
    }
    return reply(c, routes.runnerCompleteSnapshot, 200, { recorded: true });
  });

  return app;
}
