import { workspaceRoutes as routes } from '@keel/contract/api/workspaces';
import type { WorkspacePolicyResponse } from '@keel/contract/install';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { CreateWorkspaceRequest, type Workspace, WorkspaceIdParam } from '@keel/contract/workspaces';
import { workspaces } from '@keel/drizzle/schema';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { assertAccess, describedRoutes, reply, replySerialized } from '../http/described-routes.ts';
import { jobTraceOf } from '../http/job-trace.ts';
import { readJson, readParams } from '../http/validate.ts';
import { newId } from '../ids.ts';
import { loadInstallSettings } from '../install/settings.ts';
import { assertWithinMaxima, defaultResources, networkFor } from '../install/workspace-policy.ts';
import { confirmSessionReading, verifyCaller } from '../middleware/authenticate.ts';
import { countRequest, countsItself, prepareCount } from '../middleware/rate-limits.ts';
import { enqueueCreate } from '../placement/create-job.ts';
import { placeNew, recordServerChoice } from '../placement/new-workspace.ts';
import { claimWorkspacePlace } from '../plans/plan-limits.ts';
import { insertOnServer, placeOnServer } from '../servers/placement.ts';
import { snapshotSource } from '../snapshots/access.ts';
import { pendingSnapshot } from '../snapshots/request.ts';
import { loadSnapshotStore } from '../snapshots/store-settings.ts';
import {
  assertRunnerServes,
  canSeeAll,
  forgetWorkspaceRow,
  liveStatuses,
  liveStatusKeys,
  loadWorkspace,
  queueOf,
  type WorkspaceRow,
  workspaceView,
} from '../workspaces/access.ts';
import {
  alongsideReads,
  cachedAlongside,
  invalidate,
  listScope,
  WORKSPACE_LIST_TTL_SECONDS,
} from '../workspaces/cache.ts';
import { assertLifecycleAccepted } from '../workspaces/lifecycle-conflicts.ts';
import { listAnswer, listFromMemory } from '../workspaces/list-answer.ts';
import { followWorkspaceLog, readWorkspaceLog } from '../workspaces/logs.ts';

async function setStoredStatus(
  c: Context<AppEnv>,
  row: WorkspaceRow,
  status: string,
  reason: string | null = null,
) {
  const services = c.get('services');
  await services.db
    .update(workspaces)
    .set({ status, statusReason: reason, updatedAt: services.clock.now() })
    .where(eq(workspaces.id, row.id));
  await forgetWorkspaceRow(services, row.id);
}

async function audit(
  c: Context<AppEnv>,
  action: string,
  workspaceId: string,
  metadata?: Record<string, string | number | boolean>,
) {
  const services = c.get('services');
  const p = c.get('principal');
  await appendAudit(services, {
    action,
    outcome: 'success',
    actorId: p.userId,
    organizationId: p.organizationId,
    workspaceId,
    metadata,
  });
}

export function workspaceRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/workspaces');

  on(routes.createWorkspace, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const input = await readJson(c, CreateWorkspaceRequest);
    // A snapshot source: ready, and of a workspace the caller may see (404 otherwise).
    const fromSnapshot =
      input.source.type === 'snapshot' ? await snapshotSource(c, input.source.snapshotId) : {};
    const { settings } = await loadInstallSettings(services.db);
    const resources = input.resources ?? defaultResources(settings);
    assertWithinMaxima(settings, resources);
    // A git source needs no network of the workspace's: the clone runs on the runner host.
    const network = networkFor(settings, input.network);
    const id = newId('workspace');
    await claimWorkspacePlace(c, p.organizationId, id);
    // On a server the admin registered, through the runner it is assigned to; otherwise where
    // the organization's placement policy puts it.
    const onServer = input.serverId
      ? await placeOnServer(services, p.organizationId, input.serverId)
      : undefined;
    const now = services.clock.now();
    const values = {
      id,
      organizationId: p.organizationId,
      ownerId: p.userId,
      name: input.name,
      source: input.source,
      resources,
      placement: input.placement ?? null,
      network,
      createdAt: now,
      updatedAt: now,
      lastActiveAt: now,
    };
    let row: WorkspaceRow;
    let placementId: string;
    if (onServer) {
      row = await insertOnServer(services, onServer.server, {
        ...values,
        runnerId: onServer.runner.id,
        driver: onServer.driver,
        serverId: onServer.server.id,
        status: 'creating',
      });
      placementId = (await recordServerChoice(services, row, onServer)).id;
    } else {
      const placed = await placeNew(services, { ...values, status: 'creating' });
      row = placed.row;
      placementId = placed.placementId;
    }
    if (row.runnerId) {
      await enqueueCreate(services, row, {
        egressAllow: settings.egressAllow,
        server: onServer?.server ?? null,
        extra: fromSnapshot,
        trace: jobTraceOf(c),
      });
    }
    await invalidate(services, listScope(p.organizationId));
    await audit(c, 'workspace.create', id, {
      source: input.source.type,
      runnerId: row.runnerId ?? '',
      network,
      placementId,
      ...(row.status === 'queued' ? { queued: true } : {}),
      ...(onServer ? { serverId: onServer.server.id } : {}),
    });
    return reply(c, routes.createWorkspace, 201, workspaceView(row));
  });

  // Authenticates itself: the list's version and its live statuses are read with the session's
  // entry (from memory while Redis says they stand: services.reads; at most one round trip
  // once the list is remembered: see cachedAlongside). The request limits are counted beside
  // them (countsItself, prepareCount), in memory while far from every limit. When all of that
  // is in memory, it is answered without waiting (workspaces/list-answer.ts).
  const listInGeneral = async (c: Context<AppEnv>) => {
    const services = c.get('services');
    let caller: Awaited<ReturnType<typeof verifyCaller>>;
    try {
      caller = await verifyCaller(c);
    } catch (err) {
      // Counted by address all the same, as limitedAuthentication counts a failed caller.
      await countRequest(c, undefined);
      throw err;
    }
    const scope = listScope(caller.organizationId);
    const early = alongsideReads(services, scope, ['all', caller.userId]);
    const counting = await prepareCount(c, caller);
    const { values, alongside } = await confirmSessionReading(
      c,
      caller,
      early,
      counting && !counting.hit.local ? [counting.hit.command] : undefined,
    );
    await counting?.settle(alongside[0]);
    await assertAccess(c, routes.listWorkspaces.access);
    const p = c.get('principal');
    const all = canSeeAll(p);
    // The list and its live statuses: on a remembered list, one round trip reads both.
    const { value: views, alongside: statuses } = await cachedAlongside<Workspace[]>(
      services,
      scope,
      all ? 'all' : p.userId,
      WORKSPACE_LIST_TTL_SECONDS,
      async () => {
        const rows = await services.db
          .select()
          .from(workspaces)
          .where(
            and(
              eq(workspaces.organizationId, p.organizationId),
              isNull(workspaces.deletedAt),
              all ? undefined : eq(workspaces.ownerId, p.userId),
            ),
          )
          .orderBy(desc(workspaces.createdAt))
          .limit(1000);
        return rows.map((r) => workspaceView(r));
      },
      (list) => liveStatusKeys(services.config.redisPrefix, list),
      (key) => {
        const i = early.indexOf(key);
        return i < 0 ? undefined : (values[i] ?? null);
      },
    );
    return replySerialized(c, routes.listWorkspaces, 200, listAnswer(views, statuses));
  };
  on.authenticatingItself(
    routes.listWorkspaces,
    countsItself((c: Context<AppEnv>) => listFromMemory(c) ?? listInGeneral(c)),
  );

  // What the create form may offer: the network policy and the maxima, no destinations.
  on(routes.workspacePolicy, async (c) => {
    const { settings } = await loadInstallSettings(c.get('services').db);
    const body: WorkspacePolicyResponse = {
      workspaceNetwork: settings.workspaceNetwork,
      maxCpus: settings.maxCpus,
      maxMemoryMb: settings.maxMemoryMb,
      maxDiskMb: settings.maxDiskMb,
    };
    return reply(c, routes.workspacePolicy, 200, body);
  });

  on(routes.getWorkspace, async (c) => {
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    const live = await liveStatuses(c.get('services'), [row]);
    return reply(c, routes.getWorkspace, 200, workspaceView(row, live.get(row.id)));
  });

  on(routes.workspaceStatus, async (c) => {
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    const view = workspaceView(row, (await liveStatuses(c.get('services'), [row])).get(row.id));
    return reply(c, routes.workspaceStatus, 200, {
      status: view.status,
      reason: view.statusReason,
      updatedAt: view.updatedAt,
    });
  });

  on(routes.workspaceLogs, async (c) => {
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    return reply(c, routes.workspaceLogs, 200, { lines: await readWorkspaceLog(c, row) });
  });

  on(routes.workspaceLogEvents, async (c) => {
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    return followWorkspaceLog(c, row);
  });

  const lifecycle = {
    start: routes.startWorkspace,
    stop: routes.stopWorkspace,
    restart: routes.restartWorkspace,
  } as const;
  for (const action of ['start', 'stop', 'restart'] as const) {
    on(lifecycle[action], async (c) => {
      const services = c.get('services');
      const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
      // Refused or queued, never a failure (see workspaces/lifecycle-conflicts).
      assertLifecycleAccepted(action, row, (await liveStatuses(services, [row])).get(row.id));
      if (action === 'start') await claimWorkspacePlace(c, row.organizationId, row.id);
      await assertRunnerServes(services, row);
      // What a workspace may reach is the install's list as it stands when it starts.
      const egress =
        action === 'stop'
          ? {}
          : { egressAllow: (await loadInstallSettings(services.db)).settings.egressAllow };
      // A stop saves the workspace's files first when the install's store says so.
      const saved =
        action === 'stop' && (await loadSnapshotStore(services.db)).onStop
          ? { snapshotId: (await pendingSnapshot(services, row, 'stop', c.get('principal').userId)).id }
          : {};
      await services.queue.enqueue(
        queueOf(row),
        {
          v: CONTRACT_VERSION,
          type: `workspace.${action}`,
          workspaceId: row.id,
          generation: row.generation,
          ...egress,
          ...saved,
        },
        { trace: jobTraceOf(c) },
      );
      const pending = action === 'stop' ? 'stopping' : 'starting';
      await setStoredStatus(c, row, pending);
      await audit(c, `workspace.${action}`, row.id);
      return reply(c, lifecycle[action], 202, { id: row.id, status: pending });
    });
  }

  on(routes.deleteWorkspace, async (c) => {
    const services = c.get('services');
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    if (row.runnerId) {
      await services.queue.enqueue(
        queueOf(row),
        {
          v: CONTRACT_VERSION,
          type: 'workspace.delete',
          workspaceId: row.id,
          generation: row.generation,
        },
        { trace: jobTraceOf(c) },
      );
    }
    await services.db
      .update(workspaces)
      .set({ status: 'deleting', deletedAt: services.clock.now() })
      .where(eq(workspaces.id, row.id));
    await forgetWorkspaceRow(services, row.id);
    await invalidate(services, listScope(row.organizationId));
    await audit(c, 'workspace.delete', row.id);
    return reply(c, routes.deleteWorkspace, 202, { id: row.id, status: 'deleting' });
  });

  return app;
}
