import { installRoutes } from '@keel/contract/api/install';
import { workspaceRoutes } from '@keel/contract/api/workspaces';
import type {
  InstallSettingsResponse,
  UpdateInstallSettingsRequest,
  WorkspacePolicyResponse,
} from '@keel/contract/install';
import type { CreateRunnerTokenResponse, RunnerView } from '@keel/contract/runners';
import { callRoute } from './call-route.ts';
import type { ApiClient } from './client.ts';

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

export function createInstallApi(client: ApiClient): InstallApi {
  return {
    settings: () => callRoute(client, installRoutes.installSettings, {}),
    updateSettings: (update) => callRoute(client, installRoutes.updateInstallSettings, { body: update }),
    sharedRunners: async () => (await callRoute(client, installRoutes.listSharedRunners, {})).runners,
    async revokeSharedRunner(id) {
      await callRoute(client, installRoutes.revokeSharedRunner, { params: { id } });
    },
    createSharedRunnerToken: (name) =>
      callRoute(client, installRoutes.createSharedRunnerToken, { body: name ? { name } : {} }),
    workspacePolicy: () => callRoute(client, workspaceRoutes.workspacePolicy, {}),
  };
}
