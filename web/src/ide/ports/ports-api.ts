import { previewRoutes } from '@keel/contract/preview';
import { callRoute } from '../../api/call-route.ts';
import type { ApiClient } from '../../api/client.ts';

/** The workspace's listening ports and what is shared of them (routes in @keel/contract/preview). */
export function createPortsApi(client: ApiClient) {
  return {
    list: (workspaceId: string) =>
      callRoute(client, previewRoutes.previewPorts, { params: { id: workspaceId } }),
    share: (workspaceId: string, port: number, share: 'owner' | 'organization') =>
      callRoute(client, previewRoutes.previewShare, { params: { id: workspaceId, port }, body: { share } }),
    link: (workspaceId: string, port: number, expiresInSeconds: number) =>
      callRoute(client, previewRoutes.previewLink, {
        params: { id: workspaceId, port },
        body: { expiresInSeconds },
      }),
  };
}
export type PortsApi = ReturnType<typeof createPortsApi>;
