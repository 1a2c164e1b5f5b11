/**
 * Moving a workspace to another place: the policy's choice (or the one asked for), a new
 * generation that fences the old copy, status `relocating`, and a create job on the new runner
 * that restores the files of its latest snapshot (or, with none, starts from its original
 * source: its files were lost). When nothing fits it waits `queued`, and the queued path makes
 * it the same way (see `queuedCreateFields`).
 */
import { QUEUED_GIVE_UP_SECONDS } from '@keel/contract/fleet';
import { runnerKeys } from '@keel/contract/keys';
import type { PlacementReason } from '@keel/contract/placement';
import type { DriverKind } from '@keel/contract/runners';
import type { WorkspaceSource } from '@keel/contract/workspaces';
import { type runners, workspaces } from '@keel/drizzle/schema';
import { and, eq, isNull } from 'drizzle-orm';
import { appendAudit } from '../audit/audit-log.ts';
import { loadInstallSettings } from '../install/settings.ts';
import { type CreateJob, enqueueCreate } from '../placement/create-job.ts';
import { decidePlacement } from '../placement/decide.ts';
import type { ServerRow } from '../servers/store.ts';
import type { Services } from '../services.ts';
import { latestReadySnapshot, type SnapshotRow } from '../snapshots/request.ts';
import { forgetWorkspaceRow } from '../workspaces/access.ts';
import { invalidate, listScope } from '../workspaces/cache.ts';
import { relocationKey } from './keys.ts';

export type WorkspaceRow = typeof workspaces.$inferSelect;
export type RunnerRow = typeof runners.$inferSelect;
export type MoveReason = 'lost' | 'drain' | 'manual';

/** Where a moving workspace goes: a runner's own host, or a server through its runner. */
export interface Destination {
  runner: RunnerRow;
  driver: DriverKind;
  server: ServerRow | null;
}

/** Every local driver can restore a snapshot, so a move may change from one to the other. */
const LOCAL_DRIVERS: DriverKind[] = ['docker', 'process'];

/** Statuses whose workspace comes back started after a move. */
const RUNNING_STATUSES = new Set(['running', 'starting', 'creating', 'restarting']);

/** The policy's place for it, away from `exclude`; `summary` says why none when none fits. */
export async function decideByPolicy(
  services: Services,
  row: WorkspaceRow,
  reason: PlacementReason,
  exclude: string[],
): Promise<{ destination: Destination | null; summary: string }> {
  const outcome = await decidePlacement(services, {
    organizationId: row.organizationId,
    workspaceId: row.id,
    generation: row.generation + 1,
    resources: row.resources,
    request: row.placement ?? null,
    exclude,
    drivers: LOCAL_DRIVERS,
    reason,
  });
  if (!outcome.runner || !outcome.driver) return { destination: null, summary: outcome.decision.summary };
  return {
    destination: { runner: outcome.runner, driver: outcome.driver, server: null },
    summary: outcome.decision.summary,
  };
}

/** The files it is made from elsewhere: its latest ready snapshot, else its original source. */
export async function relocationSource(
  services: Services,
  row: WorkspaceRow,
): Promise<{ source: WorkspaceSource; snapshot: SnapshotRow | undefined }> {
  const snapshot = await latestReadySnapshot(services, row.id);
  return snapshot
    ? { source: { type: 'snapshot', snapshotId: snapshot.id }, snapshot }
    : { source: row.source as WorkspaceSource, snapshot: undefined };
}

/** Its status as its runner last wrote it (the live one), else as stored. */
export async function currentStatus(services: Services, row: WorkspaceRow): Promise<string> {
  if (!row.runnerId) return row.status;
  const raw = await services
    .redis()
    .get(runnerKeys(services.config.redisPrefix, row.runnerId).workspaceStatus(row.id));
  try {
    const live = raw ? (JSON.parse(raw) as { status?: unknown }) : undefined;
    if (typeof live?.status === 'string') return live.status;
  } catch {
    // A malformed status counts as none: the stored one stands.
  }
  return row.status;
}

/** Whether the workspace ran (or was on its way to), so that it runs again where it goes. */
export async function wasRunning(services: Services, row: WorkspaceRow): Promise<boolean> {
  const status = await currentStatus(services, row);
  if (status === 'relocating' || status === 'queued') {
    return (await pendingRelocation(services, row.id))?.start ?? true;
  }
  return RUNNING_STATUSES.has(status);
}

export interface PendingRelocation {
  reason: MoveReason;
  start: boolean;
  from: string | null;
}

async function pendingRelocation(
  services: Services,
  workspaceId: string,
): Promise<PendingRelocation | undefined> {
  const raw = await services.redis().get(relocationKey(services, workspaceId));
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as PendingRelocation;
  } catch {
    return undefined;
  }
}

function snapshotAgeSeconds(services: Services, snapshot: SnapshotRow | undefined): number | null {
  const takenAt = snapshot?.takenAt ?? snapshot?.createdAt;
  if (!takenAt) return null;
  return Math.max(0, Math.round((services.clock.now().getTime() - takenAt.getTime()) / 1000));
}

export interface MoveOutcome {
  /** The runner it goes to; null when it waits `queued`. */
  runnerId: string | null;
  generation: number;
}

/**
 * Puts the workspace on `destination` (or `queued` when null) at generation + 1, if it is
 * still at the generation read (another sweep or handoff may have moved it meanwhile: then
 * undefined, and nothing was done). Enqueues the create job, audits `workspace.relocate`.
 */
export async function moveWorkspace(
  services: Services,
  row: WorkspaceRow,
  destination: Destination | null,
  m: {
    reason: MoveReason;
    /** Why it moves, for its status ("from rnr_…: its host was lost"). */
    why: string;
    /** Why it waits, when nothing fits. */
    summary: string;
    start: boolean;
    source: WorkspaceSource;
    snapshot: SnapshotRow | undefined;
    actorId?: string | null;
  },
): Promise<MoveOutcome | undefined> {
  const generation = row.generation + 1;
  const age = snapshotAgeSeconds(services, m.snapshot);
  const files = m.snapshot
    ? `restoring its snapshot of ${age ?? 0} s ago`
    : 'no snapshot: its files were lost, it starts again from its source';
  const statusReason = destination
    ? `moving ${m.why}; ${files}`
    : `waiting for a place after moving ${m.why}: ${m.summary}`;
  const now = services.clock.now();
  const updated = await services.db
    .update(workspaces)
    .set({
      generation,
      runnerId: destination ? destination.runner.id : null,
      ...(destination
        ? { driver: destination.driver, serverId: destination.server?.id ?? null }
        : { serverId: null }),
      status: destination ? 'relocating' : 'queued',
      statusReason,
      move: null,
      updatedAt: now,
    })
    .where(
      and(eq(workspaces.id, row.id), eq(workspaces.generation, row.generation), isNull(workspaces.deletedAt)),
    )
    .returning();
  const moved = updated[0];
  if (!moved) return undefined;
  const pending: PendingRelocation = { reason: m.reason, start: m.start, from: row.runnerId };
  // Kept while it may wait queued: the queued path creates it from its snapshot, started if it ran.
  await services
    .redis()
    .set(relocationKey(services, row.id), JSON.stringify(pending), 'EX', QUEUED_GIVE_UP_SECONDS * 2);
  if (destination) {
    const { settings } = await loadInstallSettings(services.db);
    await enqueueCreate(services, moved, {
      egressAllow: settings.egressAllow,
      server: destination.server,
      extra: {
        source: m.source,
        ...(m.snapshot?.takenAt ? { snapshotTakenAt: m.snapshot.takenAt.toISOString() } : {}),
        relocation: { reason: m.reason },
        start: m.start,
      },
    });
  }
  await forgetWorkspaceRow(services, row.id);
  await invalidate(services, listScope(row.organizationId));
  // Ids, ages and counts only: never a file name.
  await appendAudit(services, {
    action: 'workspace.relocate',
    outcome: destination ? 'success' : 'failure',
    actorId: m.actorId ?? null,
    organizationId: row.organizationId,
    workspaceId: row.id,
    metadata: {
      reason: m.reason,
      fromRunnerId: row.runnerId,
      toRunnerId: destination?.runner.id ?? null,
      ...(destination?.server ? { toServerId: destination.server.id } : {}),
      ...(row.serverId ? { fromServerId: row.serverId } : {}),
      generation,
      snapshotId: m.snapshot?.id ?? null,
      snapshotAgeSeconds: age,
      filesLost: !m.snapshot,
      started: m.start,
    },
  });
  return { runnerId: destination?.runner.id ?? null, generation };
}

/**
 * For the queued path (`placeQueued`): how to make a workspace that waits `queued` once it has
 * a place. One that left a runner is made from its latest snapshot (or its source, its files
 * lost) and started only if it ran; a new one from its source, started.
 */
export async function queuedCreateFields(
  services: Services,
  row: WorkspaceRow,
): Promise<Pick<CreateJob, 'source' | 'snapshotTakenAt' | 'relocation' | 'start'>> {
  const pending = await pendingRelocation(services, row.id);
  if (!pending) return { source: row.source as WorkspaceSource };
  const { source, snapshot } = await relocationSource(services, row);
  return {
    source,
    ...(snapshot?.takenAt ? { snapshotTakenAt: snapshot.takenAt.toISOString() } : {}),
    relocation: { reason: pending.reason },
    start: pending.start,
  };
}

/** Forgets why it moved, once it is back (the runner reported it made). */
export async function clearPendingRelocation(services: Services, workspaceId: string): Promise<void> {
  await services.redis().del(relocationKey(services, workspaceId));
}
