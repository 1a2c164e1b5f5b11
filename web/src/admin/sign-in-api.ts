import { identityRoutes as routes } from '@keel/contract/api/identity';
import {
  type LdapLoginRequest,
  LdapLoginResponse,
  type ProviderView,
  PublicProvidersResponse,
  type SaveProviderRequest,
  type SaveSignInSettingsRequest,
  type SignInSettings,
  type TestProviderResponse,
} from '@keel/contract/identity';
import { callRoute } from '../api/call-route.ts';
import type { ApiClient } from '../api/client.ts';

export type PublicProvider = PublicProvidersResponse['providers'][number];

/** Sign-in providers: the super admin's settings, and what the sign-in page offers before anyone signs in. */
export interface IdentityApi {
  list(): Promise<ProviderView[]>;
  /** Adds (no `id`) or changes a provider; the bind password is sealed by the edge and never comes back. */
  save(request: SaveProviderRequest): Promise<ProviderView>;
  remove(id: string): Promise<void>;
  test(id: string, username: string): Promise<TestProviderResponse>;
  /** No session needed: what the sign-in page offers (directories, single sign-on, the password form). */
  publicProviders(): Promise<PublicProvidersResponse>;
  settings(): Promise<SignInSettings>;
  /** Refused (409/422 with the error body) when it would lock people out, e.g. SSO required with no provider. */
  saveSettings(request: SaveSignInSettingsRequest): Promise<SignInSettings>;
  /** Signs in with a directory; the grant is taken up by the client like a password sign-in's. */
  ldapLogin(request: LdapLoginRequest): Promise<void>;
}

export function createIdentityApi(client: ApiClient): IdentityApi {
  return {
    list: async () => (await callRoute(client, routes.listProviders, {})).providers,
    save: (request) => callRoute(client, routes.saveProvider, { body: request }),
    async remove(id) {
      await callRoute(client, routes.deleteProvider, { params: { id } });
    },
    test: (id, username) => callRoute(client, routes.testProvider, { params: { id }, body: { username } }),
    publicProviders: () =>
      client.request('GET', routes.publicProviders.path, {
        schema: PublicProvidersResponse,
        authenticate: false,
        retryOnUnauthorized: false,
      }),
    settings: () => callRoute(client, routes.signInSettings, {}),
    saveSettings: (request) => callRoute(client, routes.saveSignInSettings, { body: request }),
    async ldapLogin(request) {
      const grant = await client.request('POST', routes.ldapLogin.path, {
        body: request,
        schema: LdapLoginResponse,
        authenticate: false,
        retryOnUnauthorized: false,
      });
      client.useGrant(grant);
    },
  };
}
