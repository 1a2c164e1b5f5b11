import {
  ChangePasswordRequest,
  CreateAccessTokenRequest,
  EndSessionsQuery,
  RedeemPasswordResetRequest,
  UpdateProfileRequest,
} from '@keel/contract/account';
import { accountRoutes as routes } from '@keel/contract/api/account';
import { idSchema } from '@keel/contract/ids';
import { users } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import {
  accessTokenView,
  createAccessToken,
  listAccessTokens,
  revokeAccessToken,
} from '../accounts/access-tokens.ts';
import { endAccountSession, endAccountSessions, listAccountSessions } from '../accounts/account-sessions.ts';
import { changeOwnPassword, redeemPasswordReset } from '../accounts/password-change.ts';
import { userView } from '../accounts/views.ts';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { clearSessionCookies } from '../auth/cookies.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson, readParams, readQuery } from '../http/validate.ts';
import { signInRateKeys } from '../redis-keys.ts';
import { hitRateLimit } from '../services/rate-limit.ts';
import type { ClientIp } from './auth.ts';

/**
 * A signed-in person's own account. A personal access token is refused on all of it: a token
 * must not mint tokens, change the password or end the sessions of the person it stands for.
 */
function signedInPerson(): MiddlewareHandler<AppEnv> {
  return async function signedInPersonMiddleware(c, next) {
    if (c.get('principal').tokenPermissions)
      throw new ApiError('forbidden', 'A personal access token cannot manage the account; sign in');
    await next();
  };
}

export function accountRoutes(options: { clientIp: ClientIp }) {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/account');
  // Route access (signed_in) authenticates; this refuses access tokens on account routes.
  const person = [signedInPerson()] as const;

  on(routes.updateProfile, ...person, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const input = await readJson(c, UpdateProfileRequest);
    const [row] = await services.db
      .update(users)
      .set({ name: input.name })
      .where(eq(users.id, p.userId))
      .returning();
    if (!row) throw new ApiError('invalid_token', 'Session has ended; sign in again');
    await appendAudit(services, {
      action: 'account.profile',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      targetId: p.userId,
    });
    return reply(c, routes.updateProfile, 200, { user: userView(row) });
  });

  on(routes.changePassword, ...person, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const input = await readJson(c, ChangePasswordRequest);
    try {
      await changeOwnPassword(services, p, input.currentPassword, input.newPassword);
    } catch (err) {
      await appendAudit(services, {
        action: 'account.password',
        outcome: 'failure',
        actorId: p.userId,
        organizationId: p.organizationId,
        targetId: p.userId,
        metadata: { error: err instanceof ApiError ? err.code : 'internal_error' },
      });
      throw err;
    }
    await appendAudit(services, {
      action: 'account.password',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      targetId: p.userId,
    });
    return c.body(null, 204);
  });

  on(routes.redeemPasswordReset, async (c) => {
    const services = c.get('services');
    const input = await readJson(c, RedeemPasswordResetRequest);
    // Links are long random tokens; the limit only keeps guessing from costing the edge.
    const limit = services.config.loginRateLimitPerMinute * 3;
    const rate = await hitRateLimit(
      services.commands,
      signInRateKeys(services, options.clientIp(c) ?? 'unknown', '-').byIp,
      limit,
      60,
    );
    if (!rate.allowed) {
      c.header('Retry-After', String(rate.retryAfterSeconds));
      throw new ApiError('rate_limited', `Too many attempts; try again in ${rate.retryAfterSeconds} s`);
    }
    let userId: string;
    try {
      userId = await redeemPasswordReset(services, input.token, input.newPassword);
    } catch (err) {
      await appendAudit(services, { action: 'account.password_reset_redeem', outcome: 'failure' });
      throw err;
    }
    await appendAudit(services, {
      action: 'account.password_reset_redeem',
      outcome: 'success',
      actorId: userId,
      targetId: userId,
    });
    return c.body(null, 204);
  });

  on(routes.listSessions, ...person, async (c) => {
    const p = c.get('principal');
    const sessions = await listAccountSessions(c.get('services'), p, p.sessionId);
    return reply(c, routes.listSessions, 200, { sessions });
  });

  on(routes.endSession, ...person, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const { sessionId } = readParams(c, z.object({ sessionId: z.string() }));
    const ended =
      idSchema('tokenFamily').safeParse(sessionId).success &&
      (await endAccountSession(services, p, sessionId, 'ended by its owner'));
    if (!ended) throw new ApiError('not_found', 'No such session');
    await appendAudit(services, {
      action: 'account.session_end',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      targetId: sessionId,
    });
    if (sessionId === p.sessionId) clearSessionCookies(c);
    return c.body(null, 204);
  });

  on(routes.endSessions, ...person, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const { which } = readQuery(c, EndSessionsQuery);
    const ended = await endAccountSessions(
      services,
      p,
      which === 'all' ? undefined : p.sessionId,
      'ended by its owner',
    );
    await appendAudit(services, {
      action: 'account.sessions_end',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      metadata: { which, count: ended.length },
    });
    if (which === 'all') clearSessionCookies(c);
    return c.body(null, 204);
  });

  on(routes.listAccessTokens, ...person, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const rows = await listAccessTokens(services, p.userId, p.organizationId);
    const now = services.clock.now();
    return reply(c, routes.listAccessTokens, 200, { tokens: rows.map((r) => accessTokenView(r, now)) });
  });

  on(routes.createAccessToken, ...person, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const input = await readJson(c, CreateAccessTokenRequest);
    let made: Awaited<ReturnType<typeof createAccessToken>>;
    try {
      made = await createAccessToken(services, p, input);
    } catch (err) {
      await appendAudit(services, {
        action: 'account.token_create',
        outcome: 'denied',
        actorId: p.userId,
        organizationId: p.organizationId,
        metadata: { error: err instanceof ApiError ? err.code : 'internal_error' },
      });
      throw err;
    }
    await appendAudit(services, {
      action: 'account.token_create',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      targetId: made.row.id,
      metadata: { permissions: input.permissions.join(','), expiresInDays: input.expiresInDays },
    });
    c.header('Cache-Control', 'no-store');
    return reply(c, routes.createAccessToken, 201, {
      token: made.token,
      record: accessTokenView(made.row, services.clock.now()),
    });
  });

  on(routes.revokeAccessToken, ...person, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const { tokenId } = readParams(c, z.object({ tokenId: z.string() }));
    const revoked =
      idSchema('accessToken').safeParse(tokenId).success && (await revokeAccessToken(services, p, tokenId));
    if (!revoked) throw new ApiError('not_found', 'No such token');
    await appendAudit(services, {
      action: 'account.token_revoke',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      targetId: tokenId,
    });
    return c.body(null, 204);
  });

  return app;
}
