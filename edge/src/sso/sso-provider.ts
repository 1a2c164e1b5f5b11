import {
  GitHubConfig,
  type GitHubConfig as GitHubConfigType,
  OidcConfig,
  type OidcConfig as OidcConfigType,
} from '@keel/contract/identity';
import { identityProviders } from '@keel/drizzle/schema';
import { and, eq, inArray } from 'drizzle-orm';
import { IDENTITY_PROVIDER_PURPOSE, type ProviderRow } from '../ldap/provider-store.ts';
import type { Services } from '../services.ts';
import { SsoRefusal } from './sso-refusal.ts';

/** An enabled single sign-on provider, its config parsed by kind. */
export type SsoProvider =
  | { family: 'oidc'; kind: 'oidc' | 'google' | 'entra'; row: ProviderRow; config: OidcConfigType }
  | { family: 'github'; kind: 'github'; row: ProviderRow; config: GitHubConfigType };

export const SSO_KINDS = ['oidc', 'google', 'entra', 'github'] as const;

export function parseSso(row: ProviderRow): SsoProvider {
  switch (row.kind) {
    case 'oidc':
    case 'google':
    case 'entra':
      return { family: 'oidc', kind: row.kind, row, config: OidcConfig.parse(row.config) };
    case 'github':
      return { family: 'github', kind: 'github', row, config: GitHubConfig.parse(row.config) };
    default:
      throw new Error(`${row.kind} is not a single sign-on kind`);
  }
}

/** An enabled single sign-on provider by slug, or undefined. */
export async function ssoProviderBySlug(services: Services, slug: string): Promise<SsoProvider | undefined> {
  const [row] = await services.db
    .select()
    .from(identityProviders)
    .where(
      and(
        eq(identityProviders.slug, slug),
        inArray(identityProviders.kind, [...SSO_KINDS]),
        eq(identityProviders.enabled, true),
      ),
    )
    .limit(1);
  return row ? parseSso(row) : undefined;
}

export async function openClientSecret(services: Services, row: ProviderRow): Promise<string> {
  if (!row.secretSealed) throw new SsoRefusal('provider_unavailable', 'the provider has no client secret');
  return services.box.open(row.secretSealed, IDENTITY_PROVIDER_PURPOSE);
}
