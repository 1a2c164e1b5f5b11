/**
 * Deleting snapshots: the rows are marked deleted at once (they vanish from lists), and a
 * runner is asked to prune their manifests and the chunks no other manifest names. The store
 * is the install's, so any runner that reaches it may prune; the workspace's own is asked first.
 */
import { runnerQueueName } from '@keel/contract/keys';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { runners, snapshots } from '@keel/drizzle/schema';
import { and, desc, eq, inArray, isNull, or } from 'drizzle-orm';
import { heartbeatsOf } from '../runners/registry.ts';
import type { Services } from '../services.ts';

/** One prune job's share: the contract's cap on a job's list. */
const PRUNE_BATCH = 10_000;

/**
 * Asks a runner to prune these snapshots: `preferred` (the workspace's runner) if given and
 * online, otherwise any online runner of the organization, otherwise a shared one. Nothing is
 * sent when none is online; the rows stay deleted and their files stay until a later prune.
 */
export async function sendPrune(
  services: Services,
  snapshotIds: string[],
  organizationId: string,
  preferred: string | null,
): Promise<string | undefined> {
  if (snapshotIds.length === 0) return undefined;
  const runnerId = await pruningRunner(services, organizationId, preferred);
  if (!runnerId) return undefined;
  for (let i = 0; i < snapshotIds.length; i += PRUNE_BATCH) {
    await services.queue.enqueue(runnerQueueName(runnerId), {
      v: CONTRACT_VERSION,
      type: 'snapshots.prune',
      snapshotIds: snapshotIds.slice(i, i + PRUNE_BATCH),
      collectChunks: true,
    });
  }
  return runnerId;
}

async function pruningRunner(
  services: Services,
  organizationId: string,
  preferred: string | null,
): Promise<string | undefined> {
  const rows = await services.db
    .select({ id: runners.id, organizationId: runners.organizationId })
    .from(runners)
    .where(
      and(
        or(eq(runners.organizationId, organizationId), isNull(runners.organizationId)),
        isNull(runners.revokedAt),
      ),
    )
    .limit(1000);
  const beats = await heartbeatsOf(
    services,
    rows.map((r) => r.id),
  );
  const online = rows.filter((r) => beats.has(r.id));
  if (preferred && online.some((r) => r.id === preferred)) return preferred;
  return (online.find((r) => r.organizationId !== null) ?? online[0])?.id ?? preferred ?? undefined;
}

/**
 * Keeps the newest `retention` unpinned ready snapshots of the workspace; older ones are marked
 * deleted and pruned. Returns the ids it deleted.
 */
export async function applyRetention(
  services: Services,
  workspace: { id: string; organizationId: string; runnerId: string | null },
  retention: number,
): Promise<string[]> {
  const kept = await services.db
    .select({ id: snapshots.id })
    .from(snapshots)
    .where(
      and(
        eq(snapshots.workspaceId, workspace.id),
        eq(snapshots.status, 'ready'),
        eq(snapshots.pinned, false),
        isNull(snapshots.deletedAt),
      ),
    )
    .orderBy(desc(snapshots.takenAt), desc(snapshots.createdAt))
    .limit(PRUNE_BATCH + retention);
  const old = kept.slice(retention).map((r) => r.id);
  if (old.length === 0) return [];
  const deleted = await services.db
    .update(snapshots)
    .set({ deletedAt: services.clock.now() })
    .where(and(inArray(snapshots.id, old), isNull(snapshots.deletedAt)))
    .returning({ id: snapshots.id });
  const ids = deleted.map((r) => r.id);
  await sendPrune(services, ids, workspace.organizationId, workspace.runnerId);
  return ids;
}
