/**
 * Moves of a workspace that still has its runner (a drain, or an admin's choice): the move is
 * written on the workspace, its runner is asked to evacuate it (stop, save a final snapshot,
 * hand it off), and the handoff places it where the move goes.
 */
import { type HandoffRequest, type HandoffResponse, WorkspaceMove } from '@keel/contract/fleet';
import { CONTRACT_VERSION } from '@keel/contract/version';
import type { WorkspaceSource } from '@keel/contract/workspaces';
import { runners, servers, snapshots, workspaces } from '@keel/drizzle/schema';
import { and, eq, isNull } from 'drizzle-orm';
import type { z } from 'zod';
import { ApiError } from '../http/api-error.ts';
import { heartbeatsOf } from '../runners/registry.ts';
import { onlineRunnerFor } from '../servers/assignment.ts';
import type { ServerRow } from '../servers/store.ts';
import type { Services } from '../services.ts';
import { pendingSnapshot } from '../snapshots/request.ts';
import { forgetWorkspaceRow } from '../workspaces/access.ts';
import { drainFailedKey, moveBackoffKey } from './keys.ts';
import { type Destination, decideByPolicy, moveWorkspace, type WorkspaceRow } from './relocate.ts';

/** A move that found no place is tried again by the drain after this long. */
const MOVE_BACKOFF_SECONDS = 60;

/**
 * Writes the move on the workspace (if it has none and did not move meanwhile), asks for its
 * final snapshot and enqueues the evacuation on its runner. False when another move won.
 */
export async function requestMove(
  services: Services,
  row: WorkspaceRow,
  move: Omit<WorkspaceMove, 'requestedAt'>,
): Promise<boolean> {
  if (!row.runnerId) return false;
  const value: WorkspaceMove = { ...move, requestedAt: services.clock.now().toISOString() };
  const updated = await services.db
    .update(workspaces)
    .set({ move: value, updatedAt: services.clock.now() })
    .where(
      and(
        eq(workspaces.id, row.id),
        eq(workspaces.generation, row.generation),
        isNull(workspaces.move),
        isNull(workspaces.deletedAt),
      ),
    )
    .returning();
  const fresh = updated[0];
  if (!fresh) return false;
  await forgetWorkspaceRow(services, row.id);
  const snapshot = await pendingSnapshot(
    services,
    fresh,
    move.reason === 'drain' ? 'drain' : 'move',
    move.requestedBy,
  );
  await services.queue.enqueue(`runner.${row.runnerId}`, {
    v: CONTRACT_VERSION,
    type: 'workspace.evacuate',
    workspaceId: row.id,
    generation: row.generation,
    snapshotId: snapshot.id,
  });
  return true;
}

/** Whether the runner or server the workspace is on drains now. */
async function drainingUnder(services: Services, row: WorkspaceRow): Promise<'runner' | 'server' | null> {
  if (row.serverId) {
    const [s] = await services.db
      .select({ drainingAt: servers.drainingAt })
      .from(servers)
      .where(eq(servers.id, row.serverId))
      .limit(1);
    return s?.drainingAt ? 'server' : null;
  }
  if (!row.runnerId) return null;
  const [r] = await services.db
    .select({ drainingAt: runners.drainingAt })
    .from(runners)
    .where(eq(runners.id, row.runnerId))
    .limit(1);
  return r?.drainingAt ? 'runner' : null;
}

/** A runner of the organization (or shared), online, not revoked, lost or draining; else a reason. */
export async function runnerTarget(
  services: Services,
  organizationId: string,
  runnerId: string,
): Promise<{ destination: Destination } | { refusal: string; missing?: true }> {
  const [runner] = await services.db.select().from(runners).where(eq(runners.id, runnerId)).limit(1);
  if (
    !runner ||
    (runner.organizationId !== null && runner.organizationId !== organizationId) ||
    runner.revokedAt
  ) {
    return { refusal: 'No such runner', missing: true };
  }
  if (runner.lostAt) return { refusal: 'That runner is lost' };
  if (runner.drainingAt) return { refusal: 'That runner is draining' };
  const beat = (await heartbeatsOf(services, [runner.id])).get(runner.id);
  if (!beat) return { refusal: 'That runner is offline' };
  return { destination: { runner, driver: beat.driver, server: null } };
}

/** A server of the organization open to workspaces, through an online runner it is assigned to. */
export async function serverTarget(
  services: Services,
  organizationId: string,
  serverId: string,
): Promise<{ destination: Destination } | { refusal: string; missing?: true }> {
  const [server] = await services.db
    .select()
    .from(servers)
    .where(and(eq(servers.id, serverId), eq(servers.organizationId, organizationId)))
    .limit(1);
  if (!server) return { refusal: 'No such server', missing: true };
  if (server.disabled || server.drainingAt) return { refusal: 'That server is closed to new workspaces' };
  if (server.status !== 'ok') return { refusal: 'That server has not passed its connection test' };
  const runner = await onlineRunnerFor(services, server);
  if (!runner) return { refusal: 'No runner that server is assigned to is online' };
  return {
    destination: { runner, driver: server.kind as Destination['driver'], server: server as ServerRow },
  };
}

type Handoff = z.infer<typeof HandoffRequest>;

/**
 * The old runner stopped the workspace and saved its final snapshot. Fenced: only the runner
 * that holds it at that generation, for a workspace that has a move or whose place drains.
 * Placed where the move goes (generation + 1, created from the snapshot there, started if it
 * ran); when nothing fits, `moved: false`, the move is dropped and the workspace stays.
 */
export async function handOff(
  services: Services,
  callerId: string,
  workspaceId: string,
  input: Handoff,
): Promise<z.infer<typeof HandoffResponse>> {
  const [row] = await services.db
    .select()
    .from(workspaces)
    .where(and(eq(workspaces.id, workspaceId), isNull(workspaces.deletedAt)))
    .limit(1);
  // One answer for unknown, another's and moved: a runner learns nothing of what is not its own.
  if (!row || row.runnerId !== callerId || row.generation !== input.generation) {
    throw new ApiError('conflict', 'This runner does not hold that workspace at that generation');
  }
  const parsedMove = row.move ? WorkspaceMove.safeParse(row.move) : undefined;
  const move = parsedMove?.success ? parsedMove.data : undefined;
  const draining = await drainingUnder(services, row);
  if (!move && !draining) throw new ApiError('conflict', 'No move was asked for this workspace');
  const [snapshot] = await services.db
    .select()
    .from(snapshots)
    .where(
      and(
        eq(snapshots.id, input.snapshotId),
        eq(snapshots.workspaceId, row.id),
        eq(snapshots.status, 'ready'),
        isNull(snapshots.deletedAt),
      ),
    )
    .limit(1);
  if (!snapshot) throw new ApiError('conflict', 'That snapshot is not a ready snapshot of this workspace');

  const reason = move?.reason ?? 'drain';
  let destination: Destination | null = null;
  let summary: string;
  const target = move?.target ?? { policy: true as const };
  if ('runnerId' in target || 'serverId' in target) {
    const found =
      'runnerId' in target
        ? await runnerTarget(services, row.organizationId, target.runnerId)
        : await serverTarget(services, row.organizationId, target.serverId);
    if ('destination' in found) {
      destination = found.destination;
      summary = `placed by hand on ${destination.server ? `server ${destination.server.name}` : `runner ${destination.runner.name}`}`;
    } else summary = found.refusal;
  } else {
    // Off a draining runner: anywhere but there; off a draining server: any runner's host.
    const decided = await decideByPolicy(services, row, reason === 'drain' ? 'drain' : 'manual', [
      ...(row.serverId ? [] : [callerId]),
    ]);
    destination = decided.destination;
    summary = decided.summary;
  }

  if (!destination) {
    await services.db
      .update(workspaces)
      .set({ move: null, updatedAt: services.clock.now() })
      .where(and(eq(workspaces.id, row.id), eq(workspaces.generation, row.generation)));
    await forgetWorkspaceRow(services, row.id);
    if (draining) {
      const key = drainFailedKey(services, draining, draining === 'server' ? row.serverId! : row.runnerId!);
      await services.redis().sadd(key, row.id);
    }
    await services.redis().set(moveBackoffKey(services, row.id), '1', 'EX', MOVE_BACKOFF_SECONDS);
    console.warn(
      `keel-edge: workspace ${row.id} stays on runner ${callerId}: no place for its move (${summary})`,
    );
    return { moved: false, runnerId: callerId, generation: row.generation };
  }
  const outcome = await moveWorkspace(services, row, destination, {
    reason,
    why: `from runner ${callerId}${row.serverId ? ` (server ${row.serverId})` : ''}: ${
      reason === 'drain' ? 'its host drains' : 'an admin moved it'
    }`,
    summary,
    start: input.wasRunning,
    source: { type: 'snapshot', snapshotId: snapshot.id } satisfies WorkspaceSource,
    snapshot,
    actorId: move?.requestedBy ?? null,
  });
  if (!outcome) throw new ApiError('conflict', 'The workspace moved meanwhile');
  return { moved: true, runnerId: outcome.runnerId, generation: outcome.generation };
}
