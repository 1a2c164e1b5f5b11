import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { constantTimeEqual, randomToken, sha256Hex } from '../auth/bytes.ts';
import { isHttps } from '../http/https.ts';
import { ssoStateKey } from '../redis-keys.ts';
import type { Services } from '../services.ts';

/** A sign-in left half-done at the provider expires after this long. */
export const SSO_STATE_TTL_SECONDS = 600;

/**
 * Binds a started sign-in to the browser that started it: a callback with a state taken from
 * someone else's flow (login CSRF) fails without this cookie. Lax, so the provider's redirect
 * back (a cross-site top-level GET) carries it; only the SSO routes see it.
 */
export const SSO_BROWSER_COOKIE = 'keel_sso';
const COOKIE_PATH = '/api/auth/sso';

const StoredState = z.object({
  providerId: z.string(),
  nonce: z.string(),
  codeVerifier: z.string(),
  returnTo: z.string(),
  /** SHA-256 of the browser cookie's value. */
  browser: z.string(),
});
export type StoredState = z.infer<typeof StoredState>;

function secure(c: Context<AppEnv>): boolean {
  const { config } = c.get('services');
  return (
    isHttps(c.req.url, c.req.header('x-forwarded-proto'), config.trustProxy) ||
    (config.publicUrl?.startsWith('https:') ?? false)
  );
}

/**
 * The browser's binding value: the one it already holds (so two sign-ins started in two tabs
 * both finish), else a new one set now.
 */
export function browserBinding(c: Context<AppEnv>): string {
  const held = getCookie(c, SSO_BROWSER_COOKIE);
  if (held && /^sso_[A-Za-z0-9_-]{43}$/.test(held)) return held;
  const value = randomToken('sso');
  setCookie(c, SSO_BROWSER_COOKIE, value, {
    httpOnly: true,
    secure: secure(c),
    sameSite: 'Lax',
    path: COOKIE_PATH,
    maxAge: SSO_STATE_TTL_SECONDS,
  });
  return value;
}

export function clearBrowserBinding(c: Context<AppEnv>): void {
  deleteCookie(c, SSO_BROWSER_COOKIE, { path: COOKIE_PATH, secure: secure(c) });
}

export async function saveState(
  services: Services,
  state: string,
  value: Omit<StoredState, 'browser'>,
  binding: string,
): Promise<void> {
  const stored: StoredState = { ...value, browser: sha256Hex(binding) };
  await services
    .redis()
    .set(ssoStateKey(services, sha256Hex(state)), JSON.stringify(stored), 'EX', SSO_STATE_TTL_SECONDS);
}

/**
 * Takes the sign-in a state names, once (GETDEL: a replayed callback finds nothing), and only
 * for the browser that started it. Undefined when either fails.
 */
export async function takeState(
  services: Services,
  state: string,
  binding: string | undefined,
): Promise<StoredState | undefined> {
  const raw = await services.redis().getdel(ssoStateKey(services, sha256Hex(state)));
  if (!raw || !binding) return undefined;
  let stored: StoredState;
  try {
    stored = StoredState.parse(JSON.parse(raw));
  } catch {
    return undefined;
  }
  const presented = new TextEncoder().encode(sha256Hex(binding));
  if (!constantTimeEqual(presented, new TextEncoder().encode(stored.browser))) return undefined;
  return stored;
}
