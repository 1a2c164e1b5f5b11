import { planRoutes as routes } from '@keel/contract/api/plans';
import type { Plan, PlanResponse } from '@keel/contract/plans';
import { callRoute } from '../api/call-route.ts';
import type { ApiClient } from '../api/client.ts';

/** The organization's plan and what it uses now: read by admins, set by super admins. */
export interface PlansApi {
  get(): Promise<PlanResponse>;
  /** A plan of the organization's own, or null for the install's default. */
  set(plan: Plan | null): Promise<PlanResponse>;
}

export function createPlansApi(client: ApiClient): PlansApi {
  return {
    get: () => callRoute(client, routes.getPlan, {}),
    set: (plan) => callRoute(client, routes.updatePlan, { body: { plan } }),
  };
}
