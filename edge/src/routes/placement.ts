import { placementRoutes as routes } from '@keel/contract/api/placement';
import { UpdateOrgPlacementPolicyRequest } from '@keel/contract/placement';
import { WorkspaceIdParam } from '@keel/contract/workspaces';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson, readParams } from '../http/validate.ts';
import { loadPolicy, saveOrgPolicy } from '../placement/policy.ts';
import { placementHistory, withoutSharedHostFigures } from '../placement/record.ts';
import { loadWorkspace } from '../workspaces/access.ts';

const labelList = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(',');

/**
 * Where a workspace runs and why, and the organization's placement policy. Mounted at `/api`:
 * each route names its own middleware, so nothing here touches the app's other routes.
 */
export function placementApiRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api');

  // Its owner or an admin of its organization; anyone else gets the 404 of a missing one.
  on(routes.workspacePlacement, async (c) => {
    const services = c.get('services');
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    const view = await placementHistory(services, row.id);
    return reply(
      c,
      routes.workspacePlacement,
      200,
      c.get('principal').installAdmin ? view : await withoutSharedHostFigures(services, view),
    );
  });

  on(routes.getPlacementPolicy, async (c) => {
    const view = await loadPolicy(c.get('services'), c.get('principal').organizationId);
    return reply(c, routes.getPlacementPolicy, 200, view);
  });

  on(routes.updatePlacementPolicy, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const { policy } = await readJson(c, UpdateOrgPlacementPolicyRequest);
    await saveOrgPolicy(services, p.organizationId, policy);
    const view = await loadPolicy(services, p.organizationId);
    await appendAudit(services, {
      action: 'placement.policy.update',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      metadata: {
        installDefault: policy === null,
        strategy: view.effective.strategy,
        requiredLabels: labelList(view.effective.requiredLabels),
        preferredLabels: labelList(view.effective.preferredLabels),
      },
    });
    return reply(c, routes.updatePlacementPolicy, 200, view);
  });

  return app;
}
