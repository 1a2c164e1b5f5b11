/**
 * Workspaces that nothing fitted wait `queued`; each sweep places them again, oldest first. A
 * placed one is made on its runner as a new one is; one that still fits nowhere past the
 * deadline fails with a reason that starts `no_capacity:`, so nothing waits forever.
 */
import { workspaces } from '@keel/drizzle/schema';
import { and, asc, eq, isNull } from 'drizzle-orm';
import { appendAudit } from '../audit/audit-log.ts';
import { queuedCreateFields } from '../fleet/relocate.ts';
import { loadInstallSettings } from '../install/settings.ts';
import type { Services } from '../services.ts';
import { forgetWorkspaceRow } from '../workspaces/access.ts';
import { invalidate, listScope } from '../workspaces/cache.ts';
import { enqueueCreate } from './create-job.ts';
import { decidePlacement } from './decide.ts';

/** How long a workspace may wait queued before it fails `no_capacity`. */
export const QUEUED_GIVE_UP_SECONDS = 15 * 60;
/** At most this many queued workspaces are tried per call, so one sweep stays short. */
export const QUEUED_PER_CALL = 25;
export const NO_CAPACITY = 'no_capacity';

export interface PlaceQueuedOptions {
  /** Default QUEUED_GIVE_UP_SECONDS (tests use a short one). */
  giveUpSeconds?: number;
  limit?: number;
}

export interface PlaceQueuedResult {
  placed: string[];
  failed: string[];
  waiting: string[];
}

/** Tries every queued workspace (oldest first, bounded); the fleet's sweep calls it. */
export async function placeQueued(
  services: Services,
  options: PlaceQueuedOptions = {},
): Promise<PlaceQueuedResult> {
  const giveUp = options.giveUpSeconds ?? QUEUED_GIVE_UP_SECONDS;
  const out: PlaceQueuedResult = { placed: [], failed: [], waiting: [] };
  const rows = await services.db
    .select()
    .from(workspaces)
    .where(and(eq(workspaces.status, 'queued'), isNull(workspaces.deletedAt)))
    .orderBy(asc(workspaces.updatedAt), asc(workspaces.id))
    .limit(options.limit ?? QUEUED_PER_CALL);
  if (rows.length === 0) return out;
  const { settings } = await loadInstallSettings(services.db);
  for (const row of rows) {
    const outcome = await decidePlacement(services, {
      organizationId: row.organizationId,
      workspaceId: row.id,
      generation: row.generation,
      resources: row.resources,
      request: row.placement ?? null,
      reason: 'queued',
    });
    const now = services.clock.now();
    if (outcome.runner && outcome.driver) {
      // Only from `queued`: another edge's sweep, or a delete, may have got there first.
      // One that left a runner is made from its latest snapshot, started only if it ran.
      const extra = await queuedCreateFields(services, row);
      const [placed] = await services.db
        .update(workspaces)
        .set({
          runnerId: outcome.runner.id,
          driver: outcome.driver,
          status: extra.relocation ? 'relocating' : 'creating',
          statusReason: null,
          updatedAt: now,
        })
        .where(and(eq(workspaces.id, row.id), eq(workspaces.status, 'queued'), isNull(workspaces.deletedAt)))
        .returning();
      if (!placed) continue;
      await enqueueCreate(services, placed, { egressAllow: settings.egressAllow, extra });
      await settled(services, row.organizationId, row.id);
      await appendAudit(services, {
        action: 'workspace.placed',
        outcome: 'success',
        organizationId: row.organizationId,
        workspaceId: row.id,
        metadata: { runnerId: outcome.runner.id, reason: 'queued', placementId: outcome.decision.id },
      });
      out.placed.push(row.id);
      continue;
    }
    const waited = (now.getTime() - row.updatedAt.getTime()) / 1000;
    if (waited >= giveUp) {
      const reason = `${NO_CAPACITY}: ${outcome.decision.summary} (queued ${Math.round(waited)} s)`;
      const [failed] = await services.db
        .update(workspaces)
        .set({ status: 'failed', statusReason: reason, updatedAt: now })
        .where(and(eq(workspaces.id, row.id), eq(workspaces.status, 'queued')))
        .returning({ id: workspaces.id });
      if (!failed) continue;
      await settled(services, row.organizationId, row.id);
      await appendAudit(services, {
        action: 'workspace.placed',
        outcome: 'failure',
        organizationId: row.organizationId,
        workspaceId: row.id,
        metadata: { reason: NO_CAPACITY, placementId: outcome.decision.id },
      });
      out.failed.push(row.id);
      continue;
    }
    // The reason follows the latest decision; updatedAt stays the time it was queued.
    if (outcome.decision.summary !== row.statusReason) {
      await services.db
        .update(workspaces)
        .set({ statusReason: outcome.decision.summary })
        .where(and(eq(workspaces.id, row.id), eq(workspaces.status, 'queued')));
      await settled(services, row.organizationId, row.id);
    }
    out.waiting.push(row.id);
  }
  return out;
}

async function settled(services: Services, organizationId: string, workspaceId: string): Promise<void> {
  await forgetWorkspaceRow(services, workspaceId);
  await invalidate(services, listScope(organizationId));
}
