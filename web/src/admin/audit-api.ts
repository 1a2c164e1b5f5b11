import { adminRoutes as routes } from '@keel/contract/api/admin';
import type { AuditListResponse, AuditVerifyResponse } from '@keel/contract/audit';
import { callRoute, routeUrl } from '../api/call-route.ts';
import type { ApiClient } from '../api/client.ts';
import { type AuditQuery, auditQueryString } from './audit-filters.ts';

export type AuditExportFormat = 'csv' | 'jsonl';

export interface AuditExportFile {
  blob: Blob;
  filename: string;
  /** Set when the export stopped at its row cap: the cursor that goes on from there. */
  nextCursor: string | null;
}

/** The organization's audit trail, for its admins: pages, the chain check, downloads. */
export interface AuditApi {
  list(query: AuditQuery, page: { limit: number; cursor?: string | undefined }): Promise<AuditListResponse>;
  verify(): Promise<AuditVerifyResponse>;
  export(query: AuditQuery, format: AuditExportFormat): Promise<AuditExportFile>;
}

export function createAuditApi(client: ApiClient): AuditApi {
  return {
    list: (query, page) =>
      callRoute(client, routes.adminAudit, {
        query: { ...query, limit: page.limit, ...(page.cursor ? { cursor: page.cursor } : {}) },
      }),
    verify: () => callRoute(client, routes.adminAuditVerify, {}),
    async export(query, format) {
      // Through the client (its token, refresh-once and error body), then saved from a blob.
      const res = await client.openStream(
        `${routeUrl(routes.adminAuditExport)}${auditQueryString(query, { format })}`,
      );
      const blob = await res.blob();
      const named = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1];
      return {
        blob,
        filename: named ?? `keel-audit.${format}`,
        nextCursor: res.headers.get('x-next-cursor'),
      };
    },
  };
}
