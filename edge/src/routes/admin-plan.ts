import { planRoutes as routes } from '@keel/contract/api/plans';
import { PLAN_LIMIT_NAMES, type PlanResponse, UpdatePlanRequest } from '@keel/contract/plans';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson } from '../http/validate.ts';
import { aiTokensToday, occupyingWorkspaces, runningCommands } from '../plans/plan-limits.ts';
import { readPlan, writePlan } from '../plans/plan-store.ts';
import { refusalsToday } from '../plans/refusals.ts';
import type { Services } from '../services.ts';

/** `GET/PUT /api/admin/plan`: the organization's plan, within the install's maximums, and its use now. */
export function adminPlanRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/admin/plan');

  on(routes.getPlan, async (c) => {
    return reply(
      c,
      routes.getPlan,
      200,
      await planView(c.get('services'), c.get('principal').organizationId),
    );
  });

  on(routes.updatePlan, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const { plan } = await readJson(c, UpdatePlanRequest);
    await writePlan(services, p.organizationId, plan);
    const view = await planView(services, p.organizationId);
    await appendAudit(services, {
      action: 'plan.update',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      metadata: {
        installDefault: plan === null,
        ...Object.fromEntries(PLAN_LIMIT_NAMES.map((n) => [n, view.plan.limits[n] ?? 'unlimited'])),
      },
    });
    return reply(c, routes.updatePlan, 200, view);
  });

  return app;
}

async function planView(services: Services, organizationId: string): Promise<PlanResponse> {
  const [stored, workspaces, commands, tokens, refusals] = await Promise.all([
    readPlan(services, organizationId),
    occupyingWorkspaces(services, organizationId),
    runningCommands(services, organizationId),
    aiTokensToday(services, organizationId),
    refusalsToday(services, organizationId),
  ]);
  const { perIpPerMinute, perPersonPerMinute } = services.config.rateLimits;
  return {
    plan: stored.plan,
    source: stored.source,
    maximums: services.config.plans.maximums,
    requestLimits: { perAddressPerMinute: perIpPerMinute, perPersonPerMinute },
    usage: {
      workspacesRunning: workspaces.length,
      commandsRunning: commands,
      aiTokensToday: tokens,
      refusalsToday: refusals,
    },
  };
}
