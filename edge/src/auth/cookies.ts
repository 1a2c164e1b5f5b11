import { AUTH_COOKIES } from '@keel/contract/auth';
import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from '../app-env.ts';
import { isHttps } from '../http/https.ts';

/**
 * Browser session cookies. The access and refresh tokens are httpOnly; the CSRF token is
 * readable by the page, which echoes it in a header on every cookie-authenticated write.
 * The refresh cookie is sent only to the auth routes.
 */
export function setSessionCookies(
  c: Context<AppEnv>,
  tokens: {
    accessToken: string;
    accessTtl: number;
    refreshToken: string;
    refreshTtl: number;
    csrfToken: string;
  },
): void {
  const secure = isSecure(c);
  const base = { secure, sameSite: 'Strict' as const };
  setCookie(c, AUTH_COOKIES.access, tokens.accessToken, {
    ...base,
    httpOnly: true,
    path: '/',
    maxAge: tokens.accessTtl,
  });
  setCookie(c, AUTH_COOKIES.refresh, tokens.refreshToken, {
    ...base,
    httpOnly: true,
    path: '/api/auth',
    maxAge: tokens.refreshTtl,
  });
  setCookie(c, AUTH_COOKIES.csrf, tokens.csrfToken, {
    ...base,
    httpOnly: false,
    path: '/',
    maxAge: tokens.refreshTtl,
  });
}

export function clearSessionCookies(c: Context<AppEnv>): void {
  const secure = isSecure(c);
  deleteCookie(c, AUTH_COOKIES.access, { path: '/', secure });
  deleteCookie(c, AUTH_COOKIES.refresh, { path: '/api/auth', secure });
  deleteCookie(c, AUTH_COOKIES.csrf, { path: '/', secure });
}

function isSecure(c: Context<AppEnv>): boolean {
  const { config } = c.get('services');
  return (
    isHttps(c.req.url, c.req.header('x-forwarded-proto'), config.trustProxy) ||
    (config.publicUrl?.startsWith('https:') ?? false)
  );
}
