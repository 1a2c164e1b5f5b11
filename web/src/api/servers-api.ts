import type { RouteInput, RouteOutput } from '@keel/contract/api/describe';
import { serverRoutes as routes } from '@keel/contract/api/servers';
import type { ConnectionTestResult, ServerView } from '@keel/contract/servers';
import { callRoute } from './call-route.ts';
import type { ApiClient } from './client.ts';

/** What the add form sends: the contract's request before its defaults are applied. */
export type NewServer = RouteInput<typeof routes.createServer>['body'];
export type ServerChange = RouteInput<typeof routes.updateServer>['body'];
export type Placeable = RouteOutput<typeof routes.listPlaceableServers>['servers'][number];

export interface ServerTest {
  server: ServerView;
  result: ConnectionTestResult;
}

/** The organization's infrastructure servers (admins), and where any member may place a workspace. */
export interface ServersApi {
  list(): Promise<ServerView[]>;
  /** The secrets in `input` are sealed by the edge and never come back; the answer shows their fingerprint. */
  create(input: NewServer): Promise<ServerView>;
  /** Only the fields given change; a secret given replaces the sealed one. */
  update(id: string, change: ServerChange): Promise<ServerView>;
  /** 409 `conflict` while workspaces live on it. */
  remove(id: string): Promise<void>;
  /** A connection test from the assigned runner: answered with the result, passed or failed. */
  test(id: string): Promise<ServerTest>;
  /** Pins the host key the last test offered; `fingerprint` is the one the admin saw. */
  confirmHostKey(id: string, fingerprint: string): Promise<ServerView>;
  /** Any member: enabled servers that passed their last test. */
  placeable(): Promise<Placeable[]>;
}

export function createServersApi(client: ApiClient): ServersApi {
  return {
    list: async () => (await callRoute(client, routes.listServers, {})).servers,
    create: async (input) => (await callRoute(client, routes.createServer, { body: input })).server,
    update: async (id, change) =>
      (await callRoute(client, routes.updateServer, { params: { id }, body: change })).server,
    async remove(id) {
      await callRoute(client, routes.deleteServer, { params: { id } });
    },
    test: (id) => callRoute(client, routes.testServer, { params: { id } }),
    confirmHostKey: async (id, fingerprint) =>
      (await callRoute(client, routes.confirmServerHostKey, { params: { id }, body: { fingerprint } }))
        .server,
    placeable: async () => (await callRoute(client, routes.listPlaceableServers, {})).servers,
  };
}
