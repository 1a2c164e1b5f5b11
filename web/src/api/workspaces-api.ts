import { workspaceRoutes as routes } from '@keel/contract/api/workspaces';
import type { LogLine, Workspace, WorkspaceSource, WorkspaceStatus } from '@keel/contract/workspaces';
import { callRoute, routeUrl } from './call-route.ts';
import type { ApiClient } from './client.ts';

export type WorkspaceAction = 'start' | 'stop' | 'restart';

/** What the create form sends; the server fills in resources from its defaults. */
export interface NewWorkspace {
  name: string;
  source: WorkspaceSource;
  /** Asked for only where the install gives network on request. */
  network?: boolean;
  /** One of the organization's servers (GET /api/servers); absent: Keel places it. */
  serverId?: string;
  /** A region it must run in, on top of the organization's placement policy. */
  placement?: { region: string };
  /** GPUs it needs; the server fills in the other resources from its defaults. */
  resources?: { gpus: number };
}

export interface WorkspaceStatusInfo {
  status: WorkspaceStatus;
  reason: string | null;
  updatedAt: string;
}

export interface WorkspacesApi {
  list(): Promise<Workspace[]>;
  get(id: string): Promise<Workspace>;
  create(input: NewWorkspace): Promise<Workspace>;
  /** Accepted at once; the workspace shows `deleting` until the runner has removed it. */
  remove(id: string): Promise<void>;
  /** Accepted at once (202) with the transitional status the workspace now has. */
  act(id: string, action: WorkspaceAction): Promise<WorkspaceStatus>;
  status(id: string): Promise<WorkspaceStatusInfo>;
  /** Life-cycle and clone progress lines, oldest first. */
  logs(id: string): Promise<LogLine[]>;
  /** The same log, live, as Server-Sent Events resuming after `lastEventId` when given. */
  openLogEvents(id: string, lastEventId: string | undefined, signal: AbortSignal): Promise<Response>;
}

const actions = {
  start: routes.startWorkspace,
  stop: routes.stopWorkspace,
  restart: routes.restartWorkspace,
} as const;

export function workspacePath(id: string, rest = ''): string {
  return `/api/workspaces/${encodeURIComponent(id)}${rest}`;
}

export function createWorkspacesApi(client: ApiClient): WorkspacesApi {
  return {
    list: async () => (await callRoute(client, routes.listWorkspaces, {})).workspaces,
    get: (id) => callRoute(client, routes.getWorkspace, { params: { id } }),
    create: (input) => callRoute(client, routes.createWorkspace, { body: input }),
    async remove(id) {
      await callRoute(client, routes.deleteWorkspace, { params: { id } });
    },
    act: async (id, action) => (await callRoute(client, actions[action], { params: { id } })).status,
    status: (id) => callRoute(client, routes.workspaceStatus, { params: { id } }),
    logs: async (id) => (await callRoute(client, routes.workspaceLogs, { params: { id } })).lines,
    openLogEvents: (id, lastEventId, signal) =>
      client.openStream(routeUrl(routes.workspaceLogEvents, { id }), {
        headers: {
          accept: 'text/event-stream',
          ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
        },
        signal,
      }),
  };
}
