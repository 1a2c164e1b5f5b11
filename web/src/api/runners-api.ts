import { adminRoutes as routes } from '@keel/contract/api/admin';
import type { RouteInput } from '@keel/contract/api/describe';
import type { CreateRunnerTokenResponse, RunnerView } from '@keel/contract/runners';
import { callRoute } from './call-route.ts';
import type { ApiClient } from './client.ts';

export type NewRunnerToken = RouteInput<typeof routes.createRunnerToken>['body'];

/** The organization's runners (and the shared ones, without their hosts' stats), for its admins. */
export interface RunnersApi {
  list(): Promise<RunnerView[]>;
  /** The token is in this answer only: it is stored as a hash and never shown again. */
  createToken(input: NewRunnerToken): Promise<CreateRunnerTokenResponse>;
  /** It gets no new work, its calls are refused at once, and it stops itself. */
  revoke(id: string): Promise<void>;
}

export function createRunnersApi(client: ApiClient): RunnersApi {
  return {
    list: async () => (await callRoute(client, routes.listRunners, {})).runners,
    createToken: (input) => callRoute(client, routes.createRunnerToken, { body: input }),
    async revoke(id) {
      await callRoute(client, routes.revokeRunner, { params: { id } });
    },
  };
}
