import {
  GitHubConfig,
  IdentityProviderId,
  type LdapConfig,
  LdapConfig as LdapConfigSchema,
  OidcConfig,
  type ProviderKind,
  type ProviderView,
} from '@keel/contract/identity';
import { identityProviders } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import { ApiError } from '../http/api-error.ts';
import type { Services } from '../services.ts';

/** The SecretBox purpose of a provider's secret: a value sealed for anything else does not open here. */
export const IDENTITY_PROVIDER_PURPOSE = 'identity-provider';

export type ProviderRow = typeof identityProviders.$inferSelect;

/** An LDAP provider as stored, its config parsed (defaults filled for rows saved by older versions). */
export interface LdapProvider {
  row: ProviderRow;
  config: LdapConfig;
}

export function parseLdap(row: ProviderRow): LdapProvider {
  return { row, config: LdapConfigSchema.parse(row.config) };
}

/** The caller's organization's provider; another organization's, or an unknown id, is a 404. */
export async function providerOf(
  services: Services,
  organizationId: string,
  id: string,
): Promise<ProviderRow> {
  // Not even shaped like a provider id (a NUL byte would not reach PostgreSQL): the same 404.
  if (!IdentityProviderId.safeParse(id).success) throw new ApiError('not_found', 'No such sign-in provider');
  const [row] = await services.db
    .select()
    .from(identityProviders)
    .where(and(eq(identityProviders.id, id), eq(identityProviders.organizationId, organizationId)))
    .limit(1);
  if (!row) throw new ApiError('not_found', 'No such sign-in provider');
  return row;
}

/** An enabled LDAP provider by slug (the public sign-in names it so), or undefined. */
export async function ldapProviderBySlug(
  services: Services,
  slug: string,
): Promise<LdapProvider | undefined> {
  const [row] = await services.db
    .select()
    .from(identityProviders)
    .where(
      and(
        eq(identityProviders.slug, slug),
        eq(identityProviders.kind, 'ldap'),
        eq(identityProviders.enabled, true),
      ),
    )
    .limit(1);
  return row ? parseLdap(row) : undefined;
}

export async function openBindPassword(services: Services, row: ProviderRow): Promise<string> {
  if (!row.secretSealed)
    throw new ApiError('directory_unavailable', 'The directory has no bind password set');
  return services.box.open(row.secretSealed, IDENTITY_PROVIDER_PURPOSE);
}

/** Where a provider sends people back: register this URL with it. */
export function callbackUrl(base: string, slug: string): string {
  return `${base.replace(/\/+$/, '')}/api/auth/sso/${slug}/callback`;
}

/**
 * A provider as the console shows it: its config without the secret, whether one is set, and
 * (single sign-on kinds) the callback URL under `base` (KEEL_PUBLIC_URL, else the request's origin).
 */
export function providerView(row: ProviderRow, base: string): ProviderView {
  const common = {
    id: row.id,
    name: row.name,
    slug: row.slug,
    enabled: row.enabled,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt?.toISOString() ?? null,
  };
  const kind = row.kind as ProviderKind;
  const hasSecret = row.secretSealed !== null;
  switch (kind) {
    case 'ldap':
      return {
        ...common,
        kind,
        callbackUrl: null,
        config: { ...LdapConfigSchema.parse(row.config), hasBindPassword: hasSecret },
      };
    case 'oidc':
    case 'google':
    case 'entra':
      return {
        ...common,
        kind,
        callbackUrl: callbackUrl(base, row.slug),
        config: { ...OidcConfig.parse(row.config), hasClientSecret: hasSecret },
      };
    case 'github':
      return {
        ...common,
        kind,
        callbackUrl: callbackUrl(base, row.slug),
        config: { ...GitHubConfig.parse(row.config), hasClientSecret: hasSecret },
      };
  }
}
