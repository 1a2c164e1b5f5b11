import { AUTH_COOKIES, CSRF_HEADER } from '@keel/contract/auth';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { constantTimeEqual } from './bytes.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * For requests authenticated by cookie: a cross-site page can make the browser send the
 * cookie, but cannot read the CSRF cookie to echo it, nor forge the Origin header.
 */
export function assertCsrf(c: Context<AppEnv>): void {
  if (SAFE_METHODS.has(c.req.method)) return;
  const origin = c.req.header('origin');
  if (origin && !isOwnOrigin(c, origin)) {
    throw new ApiError('csrf_failed', 'Cross-origin request refused');
  }
  const cookie = getCookie(c, AUTH_COOKIES.csrf) ?? '';
  const header = c.req.header(CSRF_HEADER) ?? '';
  const enc = new TextEncoder();
  if (!cookie || !header || !constantTimeEqual(enc.encode(cookie), enc.encode(header))) {
    throw new ApiError('csrf_failed', `Cookie-authenticated writes need the ${CSRF_HEADER} header`);
  }
}

/** Whether an Origin header names this server: the URL it was reached at, or its public URL. */
export function isOwnOrigin(c: Context<AppEnv>, origin: string): boolean {
  if (origin === 'null') return false;
  if (origin === new URL(c.req.url).origin) return true;
  const publicUrl = c.get('services').config.publicUrl;
  return publicUrl !== undefined && publicUrl !== '' && origin === new URL(publicUrl).origin;
}
