import { fleetRoutes as routes } from '@keel/contract/api/fleet';
import { placementRoutes } from '@keel/contract/api/placement';
import { DrainRequest, HandoffRequest, PlacementsCheckRequest } from '@keel/contract/fleet';
import { idSchema } from '@keel/contract/ids';
import { AdminPlaceRequest } from '@keel/contract/placement';
import { WorkspaceIdParam } from '@keel/contract/workspaces';
import { runners, workspaces } from '@keel/drizzle/schema';
import { and, eq, inArray, isNull } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { type DrainKind, drainProgress, setDrain } from '../fleet/drain.ts';
import { handOff, requestMove, runnerTarget, serverTarget } from '../fleet/moves.ts';
import { currentStatus, moveWorkspace, relocationSource, wasRunning } from '../fleet/relocate.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson, readParams } from '../http/validate.ts';
import { loadServer } from '../servers/store.ts';

const IdParam = z.object({ id: z.string().max(128) });

/** The id in the path, if it is one of `kind`; anything else is the same 404 as a missing one. */
function pathId(c: Context<AppEnv>, kind: 'runner' | 'server' | 'workspace', what: string): string {
  const { id } = readParams(c, IdParam);
  if (!idSchema(kind).safeParse(id).success) throw new ApiError('not_found', `No such ${what}`);
  return id;
}

/**
 * The fleet's routes: runners asking which of their workspaces moved away and handing saved
 * workspaces over (fenced by generation), drains of runners and servers, and an admin's move
 * of one workspace.
 */
export function fleetApiRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '');

  on(routes.placementsCheck, async (c) => {
    const services = c.get('services');
    const runnerId = c.get('runnerId');
    const input = await readJson(c, PlacementsCheckRequest);
    const ids = [...new Set(input.workspaces.map((w) => w.id))];
    const held = new Map<string, { runnerId: string | null; generation: number; deleted: boolean }>();
    for (let i = 0; i < ids.length; i += 1000) {
      const rows = await services.db
        .select({
          id: workspaces.id,
          runnerId: workspaces.runnerId,
          generation: workspaces.generation,
          deletedAt: workspaces.deletedAt,
        })
        .from(workspaces)
        .where(inArray(workspaces.id, ids.slice(i, i + 1000)));
      for (const r of rows) held.set(r.id, { ...r, deleted: r.deletedAt !== null });
    }
    // Unknown, another organization's, moved, deleted: all simply stale, nothing more said.
    const stale = input.workspaces
      .filter((w) => {
        const r = held.get(w.id);
        return !r || r.deleted || r.runnerId !== runnerId || r.generation !== w.generation;
      })
      .map((w) => w.id);
    return reply(c, routes.placementsCheck, 200, { stale: [...new Set(stale)] });
  });

  on(routes.handoff, async (c) => {
    const services = c.get('services');
    const id = pathId(c, 'workspace', 'workspace');
    const input = await readJson(c, HandoffRequest);
    return reply(c, routes.handoff, 200, await handOff(services, c.get('runnerId'), id, input));
  });

  /** Turns a drain on or off and answers where it stands; audited to `organizationId`'s chain (null: the install's). */
  async function drain(
    c: Context<AppEnv>,
    kind: DrainKind,
    id: string,
    current: Date | null,
    organizationId: string | null,
  ) {
    const services = c.get('services');
    const input = await readJson(c, DrainRequest);
    const since = await setDrain(services, kind, id, input.drain, current);
    if (input.drain !== (current !== null)) {
      await appendAudit(services, {
        action: `${kind}.${input.drain ? 'drain' : 'undrain'}`,
        outcome: 'success',
        actorId: c.get('principal').userId,
        organizationId,
        targetId: id,
        ...(organizationId === null ? { metadata: { shared: true } } : {}),
      });
    }
    return { id, drain: await drainProgress(services, kind, id, since) };
  }

  on(routes.drainRunner, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const id = pathId(c, 'runner', 'runner');
    // The organization's own runners only: a shared one is the install administrators' to drain.
    const [row] = await services.db
      .select()
      .from(runners)
      .where(and(eq(runners.id, id), eq(runners.organizationId, p.organizationId), isNull(runners.revokedAt)))
      .limit(1);
    if (!row) throw new ApiError('not_found', 'No such active runner');
    return reply(c, routes.drainRunner, 200, await drain(c, 'runner', id, row.drainingAt, p.organizationId));
  });

  on(routes.drainSharedRunner, async (c) => {
    const services = c.get('services');
    const id = pathId(c, 'runner', 'runner');
    const [row] = await services.db
      .select()
      .from(runners)
      .where(and(eq(runners.id, id), isNull(runners.organizationId), isNull(runners.revokedAt)))
      .limit(1);
    if (!row) throw new ApiError('not_found', 'No such active shared runner');
    return reply(c, routes.drainSharedRunner, 200, await drain(c, 'runner', id, row.drainingAt, null));
  });

  on(routes.drainServer, async (c) => {
    const p = c.get('principal');
    const id = pathId(c, 'server', 'server');
    const row = await loadServer(c.get('services'), p.organizationId, id);
    return reply(c, routes.drainServer, 200, await drain(c, 'server', id, row.drainingAt, p.organizationId));
  });

  on(placementRoutes.adminPlaceWorkspace, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const { id } = readParams(c, WorkspaceIdParam);
    const input = await readJson(c, AdminPlaceRequest);
    const [row] = await services.db
      .select()
      .from(workspaces)
      .where(
        and(
          eq(workspaces.id, id),
          eq(workspaces.organizationId, p.organizationId),
          isNull(workspaces.deletedAt),
        ),
      )
      .limit(1);
    if (!row) throw new ApiError('not_found', 'No such workspace');
    const found =
      'runnerId' in input
        ? await runnerTarget(services, p.organizationId, input.runnerId)
        : await serverTarget(services, p.organizationId, input.serverId);
    if ('refusal' in found) throw new ApiError(found.missing ? 'not_found' : 'conflict', found.refusal);
    const { destination } = found;
    const here =
      'runnerId' in input
        ? input.runnerId === row.runnerId && !row.serverId
        : input.serverId === row.serverId;
    if (here) throw new ApiError('conflict', 'The workspace is there already');
    if (row.move) throw new ApiError('conflict', 'The workspace is moving already');
    if (!row.runnerId)
      throw new ApiError('conflict', 'The workspace waits for a place; it cannot be moved now');
    const [current] = await services.db.select().from(runners).where(eq(runners.id, row.runnerId)).limit(1);
    const target = 'runnerId' in input ? { runnerId: input.runnerId } : { serverId: input.serverId };
    if (current?.lostAt && !row.serverId) {
      // Its host is gone: nothing can evacuate it; it is made there from its latest snapshot.
      const { source, snapshot } = await relocationSource(services, row);
      const moved = await moveWorkspace(services, row, destination, {
        reason: 'manual',
        why: `from lost runner ${row.runnerId}: an admin placed it`,
        summary: '',
        start: await wasRunning(services, row),
        source,
        snapshot,
        actorId: p.userId,
      });
      if (!moved) throw new ApiError('conflict', 'The workspace moved meanwhile');
    } else {
      const status = await currentStatus(services, row);
      if (status !== 'running' && status !== 'stopped') {
        throw new ApiError('conflict', `The workspace is ${status}; move it once it is running or stopped`);
      }
      if (!(await requestMove(services, row, { reason: 'manual', target, requestedBy: p.userId }))) {
        throw new ApiError('conflict', 'The workspace is moving already');
      }
    }
    await appendAudit(services, {
      action: 'workspace.place',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      workspaceId: row.id,
      targetId: destination.server?.id ?? destination.runner.id,
      metadata: { fromRunnerId: row.runnerId, toRunnerId: destination.runner.id },
    });
    return reply(c, placementRoutes.adminPlaceWorkspace, 202, { id: row.id, status: 'relocating' });
  });

  return app;
}
