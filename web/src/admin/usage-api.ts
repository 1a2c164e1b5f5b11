import type { AiUsageResponse } from '@keel/contract/ai-jobs';
import { adminRoutes as routes } from '@keel/contract/api/admin';
import { callRoute } from '../api/call-route.ts';
import type { ApiClient } from '../api/client.ts';

/** The organization's AI use over a window, for its admins. */
export interface UsageApi {
  report(window: { since: string; until: string }): Promise<AiUsageResponse>;
}

export function createUsageApi(client: ApiClient): UsageApi {
  return { report: (window) => callRoute(client, routes.adminUsage, { query: window }) };
}
