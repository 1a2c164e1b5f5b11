import type { GitHubConfig, OidcConfig } from '@keel/contract/identity';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import * as client from 'openid-client';
import { sha256Hex } from '../auth/bytes.ts';
import type { ProviderRow } from '../ldap/provider-store.ts';
import type { Services } from '../services.ts';

/** Discovery documents and key sets are fetched again after this long (keys rotate). */
const CACHE_MS = 10 * 60_000;
/** Discovery and token requests give up after this long (openid-client counts seconds). */
const TIMEOUT_SECONDS = 10;

interface Cached<T> {
  at: number;
  value: T;
}

/**
 * Caches hang on the services object: one per process on Node, so discovery happens once per
 * provider version; one per request in workerd, where nothing that fetches may be shared
 * across requests.
 */
const caches = new WeakMap<Services, Map<string, Cached<unknown>>>();

function cacheOf(services: Services): Map<string, Cached<unknown>> {
  const existing = caches.get(services);
  if (existing) return existing;
  const made = new Map<string, Cached<unknown>>();
  caches.set(services, made);
  return made;
}

function cached<T>(services: Services, key: string, make: () => Promise<T>): Promise<T> {
  const map = cacheOf(services);
  const hit = map.get(key) as Cached<Promise<T>> | undefined;
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.value;
  const value = make();
  map.set(key, { at: Date.now(), value });
  // A failed fetch is not kept: the next sign-in tries again.
  value.catch(() => map.delete(key));
  if (map.size > 500) map.delete(map.keys().next().value as string);
  return value;
}

/** The provider's version: a change of config or secret makes a new entry. */
function versionOf(row: ProviderRow): string {
  return `${row.id}:${row.updatedAt?.getTime() ?? 0}:${sha256Hex(row.secretSealed ?? '')}`;
}

/** The OpenID Connect client of a provider, from its issuer's discovery document. */
export function oidcClient(
  services: Services,
  row: ProviderRow,
  config: OidcConfig,
  clientSecret: string,
): Promise<client.Configuration> {
  return cached(services, `oidc:${versionOf(row)}`, () =>
    client.discovery(new URL(config.issuer), config.clientId, clientSecret, undefined, {
      execute: config.insecure ? [client.allowInsecureRequests] : [],
      timeout: TIMEOUT_SECONDS,
    }),
  );
}

/** GitHub's OAuth web flow as a plain OAuth 2.0 server (it has no discovery document). */
export function githubClient(config: GitHubConfig, clientSecret: string): client.Configuration {
  const web = config.webUrl.replace(/\/+$/, '');
  const configuration = new client.Configuration(
    {
      issuer: web,
      authorization_endpoint: `${web}/login/oauth/authorize`,
      token_endpoint: `${web}/login/oauth/access_token`,
    },
    config.clientId,
    clientSecret,
  );
  if (config.insecure) client.allowInsecureRequests(configuration);
  configuration.timeout = TIMEOUT_SECONDS;
  return configuration;
}

/** The provider's signing keys (its JWKS), fetched when a token names a key not seen yet. */
export function providerKeys(services: Services, jwksUri: string): JWTVerifyGetKey {
  const map = cacheOf(services);
  const key = `jwks:${jwksUri}`;
  const hit = map.get(key) as Cached<JWTVerifyGetKey> | undefined;
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.value;
  const get = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: TIMEOUT_SECONDS * 1000 });
  map.set(key, { at: Date.now(), value: get });
  return get;
}
