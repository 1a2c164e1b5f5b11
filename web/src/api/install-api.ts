import {
  InstallSettingsResponse,
  type UpdateInstallSettingsRequest,
  WorkspacePolicyResponse,
} from '@keel/contract/install';
import { CreateRunnerTokenResponse, RunnerView } from '@keel/contract/runners';
import type { ApiClient } from './client.ts';
import { inField } from './response-shapes.ts';

/** What install administrators manage, and the policy every member's create form follows. */
export interface InstallApi {
  settings(): Promise<InstallSettingsResponse>;
  /** The fields given replace the current ones. */
  updateSettings(update: UpdateInstallSettingsRequest): Promise<InstallSettingsResponse>;
  sharedRunners(): Promise<RunnerView[]>;
  revokeSharedRunner(id: string): Promise<void>;
  /** A registration token for a new shared runner, shown once. */
  createSharedRunnerToken(name?: string): Promise<CreateRunnerTokenResponse>;
  /** Any member: whether new workspaces may have network, and the resource maxima. */
  workspacePolicy(): Promise<WorkspacePolicyResponse>;
}

const RunnerList = inField('runners', RunnerView.array());

export function createInstallApi(client: ApiClient): InstallApi {
  return {
    settings: () => client.request('GET', '/api/install/settings', { schema: InstallSettingsResponse }),
    updateSettings: (update) =>
      client.request('PUT', '/api/install/settings', { body: update, schema: InstallSettingsResponse }),
    sharedRunners: async () =>
      (await client.request('GET', '/api/install/runners', { schema: RunnerList })).runners,
    async revokeSharedRunner(id) {
      await client.request('DELETE', `/api/install/runners/${encodeURIComponent(id)}`);
    },
    createSharedRunnerToken: (name) =>
      client.request('POST', '/api/install/runner-tokens', {
        body: name ? { name } : {},
        schema: CreateRunnerTokenResponse,
      }),
    workspacePolicy: () =>
      client.request('GET', '/api/workspaces/policy', { schema: WorkspacePolicyResponse }),
  };
}
