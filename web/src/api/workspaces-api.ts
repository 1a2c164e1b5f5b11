import {
  LogLine,
  Workspace,
  type WorkspaceSource,
  WorkspaceStatus,
  WorkspaceStatusResponse,
} from '@keel/contract/workspaces';
import type { ApiClient } from './client.ts';
import { inField } from './response-shapes.ts';

export type WorkspaceAction = 'start' | 'stop' | 'restart';

/** What the create form sends; the server fills in resources from its defaults. */
export interface NewWorkspace {
  name: string;
  source: WorkspaceSource;
  /** Asked for only where the install gives network on request. */
  network?: boolean;
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
}

const WorkspaceList = inField('workspaces', Workspace.array());
const LogLines = inField('lines', LogLine.array());
const ActionAccepted = inField('status', WorkspaceStatus);

export function workspacePath(id: string, rest = ''): string {
  return `/api/workspaces/${encodeURIComponent(id)}${rest}`;
}

export function createWorkspacesApi(client: ApiClient): WorkspacesApi {
  return {
    list: async () => (await client.request('GET', '/api/workspaces', { schema: WorkspaceList })).workspaces,
    get: (id) => client.request('GET', workspacePath(id), { schema: Workspace }),
    create: (input) => client.request('POST', '/api/workspaces', { body: input, schema: Workspace }),
    async remove(id) {
      await client.request('DELETE', workspacePath(id));
    },
    async act(id, action) {
      const accepted = await client.request('POST', workspacePath(id, `/${action}`), {
        body: {},
        schema: ActionAccepted,
      });
      return accepted.status;
    },
    status: (id) => client.request('GET', workspacePath(id, '/status'), { schema: WorkspaceStatusResponse }),
    logs: async (id) => (await client.request('GET', workspacePath(id, '/logs'), { schema: LogLines })).lines,
  };
}
