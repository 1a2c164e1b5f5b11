import type { OidcConfig } from '@keel/contract/identity';
import { type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import * as client from 'openid-client';
import type { Services } from '../services.ts';
import { oidcClient, providerKeys } from './client-config.ts';
import type { SsoPerson } from './sso-person.ts';
import type { SsoProvider } from './sso-provider.ts';
import { SsoRefusal } from './sso-refusal.ts';
import type { StoredState } from './sso-state.ts';

type OidcProvider = Extract<SsoProvider, { family: 'oidc' }>;

/** Where to send the browser to sign in at an OpenID provider (authorization code with PKCE). */
export async function oidcAuthorizationUrl(
  services: Services,
  provider: OidcProvider,
  clientSecret: string,
  params: { redirectUri: string; state: string; nonce: string; codeVerifier: string },
): Promise<URL> {
  const configuration = await unavailableOnFailure(() =>
    oidcClient(services, provider.row, provider.config, clientSecret),
  );
  return client.buildAuthorizationUrl(configuration, {
    redirect_uri: params.redirectUri,
    response_type: 'code',
    scope: provider.config.scopes.join(' '),
    state: params.state,
    nonce: params.nonce,
    code_challenge: await client.calculatePKCECodeChallenge(params.codeVerifier),
    code_challenge_method: 'S256',
  });
}

/**
 * The provider's answer, checked: the code exchanged with the PKCE verifier (openid-client also
 * checks `state`, `iss` and the ID token's claims), then the ID token's signature against the
 * provider's JWKS with jose, its issuer, audience and nonce, and the preset's restrictions.
 */
export async function oidcCallback(
  services: Services,
  provider: OidcProvider,
  clientSecret: string,
  currentUrl: URL,
  params: { redirectUri: string; state: string; stored: StoredState },
): Promise<SsoPerson> {
  const { config } = provider;
  const configuration = await unavailableOnFailure(() =>
    oidcClient(services, provider.row, config, clientSecret),
  );
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    tokens = await client.authorizationCodeGrant(
      configuration,
      currentUrl,
      {
        pkceCodeVerifier: params.stored.codeVerifier,
        expectedState: params.state,
        expectedNonce: params.stored.nonce,
        idTokenExpected: true,
      },
      { redirect_uri: params.redirectUri },
    );
  } catch (err) {
    if (err instanceof client.AuthorizationResponseError)
      throw new SsoRefusal('provider_error', `the provider answered ${err.error}`);
    if (isNetworkError(err)) throw new SsoRefusal('provider_unavailable', reasonOf(err));
    throw new SsoRefusal('token_rejected', `code exchange failed: ${reasonOf(err)}`);
  }
  const idToken = tokens.id_token;
  if (!idToken) throw new SsoRefusal('token_rejected', 'no ID token');
  const server = configuration.serverMetadata();
  if (!server.jwks_uri) throw new SsoRefusal('provider_unavailable', 'the provider publishes no jwks_uri');
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(idToken, providerKeys(services, server.jwks_uri), {
      issuer: server.issuer,
      audience: config.clientId,
      requiredClaims: ['sub', 'exp', 'iat'],
      clockTolerance: 30,
    }));
  } catch (err) {
    if (err instanceof joseErrors.JOSEError)
      throw new SsoRefusal('token_rejected', `ID token: ${err.code} ${err.message}`);
    throw new SsoRefusal('provider_unavailable', `the provider's keys: ${reasonOf(err)}`);
  }
  if (claims.nonce !== params.stored.nonce)
    throw new SsoRefusal('token_rejected', 'ID token: nonce mismatch');
  checkPreset(provider.kind, config, claims);

  // Providers that answer the scopes' claims at userinfo rather than in the ID token (Okta,
  // oidc-provider by default): ask there, for the person the ID token named.
  let profile: Record<string, unknown> = claims;
  if (typeof claims.email !== 'string' && tokens.access_token) {
    try {
      const info = await client.fetchUserInfo(configuration, tokens.access_token, String(claims.sub));
      profile = { ...info, ...claims };
    } catch (err) {
      throw new SsoRefusal('provider_unavailable', `userinfo: ${reasonOf(err)}`);
    }
  }
  const email = typeof profile.email === 'string' ? profile.email.trim().toLowerCase() : null;
  const groupsValue = claims[config.groupsClaim] ?? profile[config.groupsClaim];
  const groups = Array.isArray(groupsValue)
    ? groupsValue.filter((g): g is string => typeof g === 'string')
    : [];
  return {
    subject: String(claims.sub),
    email,
    emailVerified: email !== null && (profile.email_verified === true || config.trustEmail),
    name: typeof profile.name === 'string' ? profile.name : null,
    groups: groups.slice(0, 500),
  };
}

/** Google's Workspace domain (`hd`) and Entra ID's tenant (`tid`), from the signed ID token only. */
function checkPreset(kind: OidcProvider['kind'], config: OidcConfig, claims: JWTPayload): void {
  if (kind === 'google' && config.allowedDomains.length > 0) {
    const hd = typeof claims.hd === 'string' ? claims.hd.toLowerCase() : undefined;
    if (!hd || !config.allowedDomains.includes(hd))
      throw new SsoRefusal('domain_not_allowed', `hd ${hd ?? '(none)'} is not allowed`);
  }
  if (kind === 'entra' && config.tenantId) {
    if (claims.tid !== config.tenantId)
      throw new SsoRefusal('tenant_not_allowed', `tid ${String(claims.tid ?? '(none)')} is not the tenant`);
  }
}

async function unavailableOnFailure<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new SsoRefusal('provider_unavailable', `discovery: ${reasonOf(err)}`);
  }
}

function isNetworkError(err: unknown): boolean {
  return err instanceof TypeError || (err instanceof Error && err.name === 'TimeoutError');
}

export function reasonOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${typeof code === 'string' ? `${code} ` : ''}${err.message}`.slice(0, 500);
  }
  return String(err).slice(0, 500);
}
