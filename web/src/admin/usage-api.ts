import { accountRoutes } from '@keel/contract/api/account';
import { adminRoutes } from '@keel/contract/api/admin';
import type { MyUsageReport, UsageReport } from '@keel/contract/usage';
import { callRoute, routeUrl } from '../api/call-route.ts';
import type { ApiClient } from '../api/client.ts';
import { csvHref, type Granularity } from './usage-period.ts';

/** The filters of `GET /api/admin/usage` the pages send (the route's `UsageQuery`, less the format). */
export interface UsageRequest {
  since: string;
  until: string;
  granularity: Granularity;
  userId?: string;
  workspaceId?: string;
  team?: string;
}

/** `GET /api/me/usage`'s window (`MyUsageQuery`, less the format). */
export type MyUsageRequest = Pick<UsageRequest, 'since' | 'until' | 'granularity'>;

export interface UsageCsvFile {
  blob: Blob;
  filename: string;
  /** The server stopped at its row limit (X-Row-Limit-Reached): the file holds the first rows only. */
  truncated: boolean;
}

/** What the organization used (for its admins), and what I used myself. */
export interface UsageApi {
  report(query: UsageRequest): Promise<UsageReport>;
  mine(query: MyUsageRequest): Promise<MyUsageReport>;
  /** The address of the report's CSV: the same filters with `format=csv`. */
  reportCsvHref(query: UsageRequest): string;
  myCsvHref(query: MyUsageRequest): string;
  /** Fetches a CSV address from above with the session's token (a plain link would carry none). */
  downloadCsv(href: string): Promise<UsageCsvFile>;
}

export function createUsageApi(client: ApiClient): UsageApi {
  return {
    report: (query) => callRoute(client, adminRoutes.adminUsage, { query }),
    mine: (query) => callRoute(client, accountRoutes.myUsage, { query }),
    reportCsvHref: (query) => csvHref(routeUrl(adminRoutes.adminUsage), { ...query }),
    myCsvHref: (query) => csvHref(routeUrl(accountRoutes.myUsage), { ...query }),
    async downloadCsv(href) {
      const res = await client.openStream(href);
      const blob = await res.blob();
      const named = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1];
      return {
        blob,
        filename: named ?? 'keel-usage.csv',
        truncated: res.headers.get('x-row-limit-reached') === 'true',
      };
    },
  };
}
