import { AUTH_COOKIES, Role } from '@keel/contract/auth';
import { memberships, refreshTokenFamilies, users } from '@keel/drizzle/schema';
import { and, eq, gt, isNull } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppEnv, Principal } from '../app-env.ts';
import { assertCsrf } from '../auth/csrf.ts';
import { ApiError } from '../http/api-error.ts';

/**
 * Requires a valid access token (Bearer header, or the session cookie plus CSRF proof),
 * then confirms in the database that the user, membership and session still stand, so a
 * revoked session or a removed member is cut off at once, not when the token expires.
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async function authenticateMiddleware(c, next) {
    const services = c.get('services');
    const header = c.req.header('authorization');
    let token: string | undefined;
    let via: Principal['via'] = 'bearer';
    if (header !== undefined) {
      const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
      if (!m) throw new ApiError('invalid_token', 'Authorization header must be "Bearer <token>"');
      token = m[1];
    } else {
      token = getCookie(c, AUTH_COOKIES.access);
      via = 'cookie';
    }
    if (!token) throw new ApiError('unauthorized', 'Sign in first');

    let claims: Awaited<ReturnType<typeof services.keys.verify>>;
    try {
      claims = await services.keys.verify(token);
    } catch {
      throw new ApiError('invalid_token', 'Access token is invalid or expired');
    }
    if (via === 'cookie') assertCsrf(c);

    const now = services.clock.now();
    const [row] = await services.db
      .select({ role: memberships.role })
      .from(users)
      .innerJoin(
        memberships,
        and(eq(memberships.userId, users.id), eq(memberships.organizationId, claims.org)),
      )
      .innerJoin(
        refreshTokenFamilies,
        and(
          eq(refreshTokenFamilies.id, claims.sid),
          eq(refreshTokenFamilies.userId, users.id),
          isNull(refreshTokenFamilies.revokedAt),
          gt(refreshTokenFamilies.expiresAt, now),
        ),
      )
      .where(and(eq(users.id, claims.sub), isNull(users.disabledAt)))
      .limit(1);
    if (!row) throw new ApiError('invalid_token', 'Session has ended; sign in again');

    c.set('principal', {
      userId: claims.sub,
      organizationId: claims.org,
      role: Role.parse(row.role),
      sessionId: claims.sid,
      via,
    });
    await next();
  };
}
