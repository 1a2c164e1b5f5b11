import { adminRoutes as routes } from '@keel/contract/api/admin';
import type { HealthReport } from '@keel/contract/health';
import { callRoute } from '../api/call-route.ts';
import type { ApiClient } from '../api/client.ts';

/** The fleet and the edges at a glance, for those who manage the organization's runners. */
export interface HealthApi {
  report(minutes?: number): Promise<HealthReport>;
}

export function createHealthApi(client: ApiClient): HealthApi {
  return {
    report: (minutes) =>
      callRoute(client, routes.adminHealth, { query: minutes === undefined ? {} : { minutes } }),
  };
}
