import type {
  AccessToken,
  AccountSession,
  CreateAccessTokenRequest,
  CreateAccessTokenResponse,
} from '@keel/contract/account';
import { accountRoutes } from '@keel/contract/api/account';
import { integrationRoutes } from '@keel/contract/api/integrations';
import type { User } from '@keel/contract/auth';
import type {
  GitCredential,
  GitPushRequest,
  GitPushResponse,
  PutGitCredentialRequest,
  PutGitCredentialResponse,
} from '@keel/contract/integrations';
import { callRoute } from '../api/call-route.ts';
import type { ApiClient } from '../api/client.ts';

/** A person's own account: profile, password, sessions and personal access tokens. */
export interface AccountApi {
  updateName(name: string): Promise<User>;
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  redeemPasswordReset(token: string, newPassword: string): Promise<void>;
  sessions(): Promise<AccountSession[]>;
  endSession(sessionId: string): Promise<void>;
  endOtherSessions(): Promise<void>;
  tokens(): Promise<AccessToken[]>;
  createToken(request: CreateAccessTokenRequest): Promise<CreateAccessTokenResponse>;
  revokeToken(tokenId: string): Promise<void>;
  /** Settings › Integrations: my Git host tokens (never the tokens themselves). */
  gitCredentials(): Promise<GitCredential[]>;
  putGitCredential(request: PutGitCredentialRequest): Promise<PutGitCredentialResponse>;
  deleteGitCredential(credentialId: string): Promise<void>;
  /** Push a branch of my workspace with my kept token for its remote's host. */
  pushWorkspace(workspaceId: string, request?: GitPushRequest): Promise<GitPushResponse>;
}

export function createAccountApi(client: ApiClient): AccountApi {
  return {
    updateName: async (name) =>
      (await callRoute(client, accountRoutes.updateProfile, { body: { name } })).user,
    async changePassword(currentPassword, newPassword) {
      await callRoute(client, accountRoutes.changePassword, { body: { currentPassword, newPassword } });
    },
    async redeemPasswordReset(token, newPassword) {
      await callRoute(client, accountRoutes.redeemPasswordReset, { body: { token, newPassword } });
    },
    sessions: async () => (await callRoute(client, accountRoutes.listSessions, {})).sessions,
    async endSession(sessionId) {
      await callRoute(client, accountRoutes.endSession, { params: { sessionId } });
    },
    async endOtherSessions() {
      await callRoute(client, accountRoutes.endSessions, { query: { which: 'others' } });
    },
    tokens: async () => (await callRoute(client, accountRoutes.listAccessTokens, {})).tokens,
    createToken: (request) => callRoute(client, accountRoutes.createAccessToken, { body: request }),
    async revokeToken(tokenId) {
      await callRoute(client, accountRoutes.revokeAccessToken, { params: { tokenId } });
    },
    gitCredentials: async () =>
      (await callRoute(client, integrationRoutes.listGitCredentials, {})).credentials,
    putGitCredential: (request) => callRoute(client, integrationRoutes.putGitCredential, { body: request }),
    async deleteGitCredential(credentialId) {
      await callRoute(client, integrationRoutes.deleteGitCredential, { params: { credentialId } });
    },
    pushWorkspace: (workspaceId, request = {}) =>
      callRoute(client, integrationRoutes.pushWorkspace, { params: { id: workspaceId }, body: request }),
  };
}
