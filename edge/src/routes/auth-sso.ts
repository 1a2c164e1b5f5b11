import { identityRoutes as routes } from '@keel/contract/api/identity';
import { SsoCallbackQuery, type SsoErrorCode, SsoSlugParam, SsoStartQuery } from '@keel/contract/identity';
import { type Context, Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import * as client from 'openid-client';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { openSession } from '../auth/sessions.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes } from '../http/described-routes.ts';
import { readParams, readQuery } from '../http/validate.ts';
import { callbackUrl } from '../ldap/provider-store.ts';
import { ssoRateKey } from '../redis-keys.ts';
import { hitRateLimit } from '../services/rate-limit.ts';
import { admitSsoPerson } from '../sso/admit-sso-person.ts';
import { environmentProvidersReady } from '../sso/environment-providers.ts';
import { githubAuthorizationUrl, githubCallback } from '../sso/github-callback.ts';
import { oidcAuthorizationUrl, oidcCallback, reasonOf } from '../sso/oidc-callback.ts';
import { publicBase } from '../sso/public-base.ts';
import type { SsoPerson } from '../sso/sso-person.ts';
import { openClientSecret, type SsoProvider, ssoProviderBySlug } from '../sso/sso-provider.ts';
import { SsoRefusal } from '../sso/sso-refusal.ts';
import { browserBinding, SSO_BROWSER_COOKIE, saveState, takeState } from '../sso/sso-state.ts';
import { type ClientIp, issueTokens, sessionClient } from './auth.ts';

/** Single sign-on: the start that sends the browser to the provider, and the callback that signs it in. */
export function ssoAuthRoutes(options: { clientIp: ClientIp }) {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/auth');

  on(routes.ssoStart, async (c) => {
    const services = c.get('services');
    await environmentProvidersReady(services);
    const { slug } = readParams(c, SsoSlugParam);
    const { returnTo = '/' } = readQuery(c, SsoStartQuery);
    await limitSso(c, options.clientIp);
    const provider = await ssoProviderBySlug(services, slug);
    if (!provider) throw new ApiError('not_found', 'No such sign-in provider');
    const state = client.randomState();
    const nonce = client.randomNonce();
    const codeVerifier = client.randomPKCECodeVerifier();
    const redirectUri = callbackUrl(publicBase(c), provider.row.slug);
    try {
      const secret = await openClientSecret(services, provider.row);
      const url =
        provider.family === 'oidc'
          ? await oidcAuthorizationUrl(services, provider, secret, {
              redirectUri,
              state,
              nonce,
              codeVerifier,
            })
          : await githubAuthorizationUrl(provider, secret, { redirectUri, state, codeVerifier });
      await saveState(
        services,
        state,
        { providerId: provider.row.id, nonce, codeVerifier, returnTo },
        browserBinding(c),
      );
      return c.redirect(url.toString(), 302);
    } catch (err) {
      return refused(c, provider, err, 'start');
    }
  });

  on(routes.ssoCallback, async (c) => {
    const services = c.get('services');
    const { slug } = readParams(c, SsoSlugParam);
    const query = readQuery(c, SsoCallbackQuery);
    await limitSso(c, options.clientIp);
    let provider: SsoProvider | undefined;
    try {
      if (!query.state) throw new SsoRefusal('state_mismatch', 'no state');
      // Taken first, whatever follows: a state is good for one callback only.
      const stored = await takeState(services, query.state, getCookie(c, SSO_BROWSER_COOKIE));
      if (!stored)
        throw new SsoRefusal('state_mismatch', 'unknown, used or expired state, or another browser');
      provider = await ssoProviderBySlug(services, slug);
      if (!provider || provider.row.id !== stored.providerId)
        throw new SsoRefusal('state_mismatch', 'the state was started for another provider');
      if (query.error) throw new SsoRefusal('provider_error', `the provider answered ${query.error}`);
      const redirectUri = callbackUrl(publicBase(c), provider.row.slug);
      // The URL the provider sent the browser to, as registered (a proxy may have rewritten the host).
      const currentUrl = new URL(redirectUri);
      currentUrl.search = new URL(c.req.url).search;
      const secret = await openClientSecret(services, provider.row);
      const checks = { redirectUri, state: query.state, stored };
      const person: SsoPerson =
        provider.family === 'oidc'
          ? await oidcCallback(services, provider, secret, currentUrl, checks)
          : await githubCallback(provider, secret, currentUrl, checks);
      const admitted = await admitSsoPerson(services, provider, person);
      const session = await openSession(
        services,
        admitted.user.id,
        admitted.organizationId,
        sessionClient(c, options.clientIp),
      );
      await appendAudit(services, {
        action: 'auth.sso_login',
        outcome: 'success',
        actorId: admitted.user.id,
        organizationId: admitted.organizationId,
        targetId: session.sessionId,
        metadata: {
          provider: provider.row.id,
          kind: provider.kind,
          role: admitted.role,
          created: admitted.created,
          linked: admitted.linked,
        },
      });
      await issueTokens(
        c,
        { userId: admitted.user.id, organizationId: admitted.organizationId, role: admitted.role },
        session,
      );
      return c.redirect(stored.returnTo, 302);
    } catch (err) {
      return refused(c, provider, err, 'callback');
    }
  });

  return app;
}

/**
 * Any failure sends the browser back to the sign-in page with a code it can explain; the
 * detail goes to the log and the audit trail only. Never a 500 in the middle of a redirect dance.
 */
async function refused(
  c: Context<AppEnv>,
  provider: SsoProvider | undefined,
  err: unknown,
  step: 'start' | 'callback',
): Promise<Response> {
  const code: SsoErrorCode = err instanceof SsoRefusal ? err.code : 'provider_unavailable';
  c.get('services').metrics.signInFailed('sso');
  const detail = err instanceof SsoRefusal ? err.detail : `unexpected: ${reasonOf(err)}`;
  console.warn(
    JSON.stringify({
      level: err instanceof SsoRefusal ? 'info' : 'error',
      msg: 'single sign-on refused',
      step,
      provider: provider?.row.id ?? null,
      code,
      detail,
      requestId: c.get('requestId'),
    }),
  );
  try {
    await appendAudit(c.get('services'), {
      action: 'auth.sso_login',
      outcome: code === 'state_mismatch' || code === 'provider_unavailable' ? 'failure' : 'denied',
      organizationId: provider?.row.organizationId ?? null,
      targetId: provider?.row.id ?? null,
      metadata: { step, reason: code },
    });
  } catch (auditErr) {
    console.error(
      JSON.stringify({ level: 'error', msg: 'audit of a refused sign-in failed', error: reasonOf(auditErr) }),
    );
  }
  return c.redirect(`/sign-in?sso_error=${code}`, 302);
}

/** Starts and callbacks per client address: each sign-in makes two. */
async function limitSso(c: Context<AppEnv>, clientIp: ClientIp): Promise<void> {
  const services = c.get('services');
  const limit = services.config.loginRateLimitPerMinute * 6;
  const decision = await hitRateLimit(
    services.commands,
    ssoRateKey(services, clientIp(c) ?? 'unknown'),
    limit,
    60,
  );
  if (!decision.allowed) {
    c.header('Retry-After', String(decision.retryAfterSeconds));
    throw new ApiError(
      'rate_limited',
      `Too many sign-in attempts; try again in ${decision.retryAfterSeconds} s`,
    );
  }
}
