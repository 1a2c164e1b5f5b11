import { authRoutes as routes } from '@keel/contract/api/auth';
import {
  AUTH_COOKIES,
  LoginRequest,
  type LoginResponse,
  type MeResponse,
  RefreshRequest,
  type RefreshResponse,
  SignupRequest,
  type SignupResponse,
} from '@keel/contract/auth';
import { Permission } from '@keel/contract/permissions';
import { memberships, organizations, users } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { checkPassword, checkPasswordAndAccept } from '../accounts/login.ts';
import { limitSignInAttempts } from '../accounts/sign-in-limits.ts';
import { signup } from '../accounts/signup.ts';
import { organizationView, userView } from '../accounts/views.ts';
import { type AppEnv, principalPermits } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { sha256Hex } from '../auth/bytes.ts';
import { clearSessionCookies, setSessionCookies } from '../auth/cookies.ts';
import { assertCsrf } from '../auth/csrf.ts';
import {
  type IssuedSession,
  openSession,
  revokeSession,
  rotateSession,
  type SessionClient,
  sessionOfRefreshToken,
} from '../auth/sessions.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson, readOptionalJson } from '../http/validate.ts';
import { directoryStillAdmits } from '../ldap/directory-sign-in.ts';
import type { DirectoryLoader } from '../ldap/ldap-runtime.ts';
import { passwordSignInAllowed, readSignInSettings } from '../sso/sign-in-settings.ts';

export type ClientIp = (c: Context<AppEnv>) => string | undefined;

export async function issueTokens(
  c: Context<AppEnv>,
  principal: { userId: string; organizationId: string; role: string },
  session: IssuedSession,
) {
  const { token, expiresIn } = await c.get('services').keys.sign({
    sub: principal.userId,
    org: principal.organizationId,
    sid: session.sessionId,
    role: principal.role,
  });
  setSessionCookies(c, {
    accessToken: token,
    accessTtl: expiresIn,
    refreshToken: session.refreshToken,
    refreshTtl: session.refreshTtl,
    csrfToken: session.csrfToken,
  });
  return { accessToken: token, csrfToken: session.csrfToken, expiresIn };
}

export function authRoutes(options: { clientIp: ClientIp; directory?: DirectoryLoader }) {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/auth');

  on(routes.signup, async (c) => {
    const services = c.get('services');
    const input = await readJson(c, SignupRequest);
    await limitSignInAttempts(c, options.clientIp(c), input.email);
    let result: Awaited<ReturnType<typeof signup>>;
    try {
      result = await signup(services, input);
    } catch (err) {
      // A refused sign-up (no invitation, a used one, a taken address) is a failed sign-in too.
      await appendAudit(services, {
        action: 'auth.signup',
        outcome: 'failure',
        metadata: {
          emailSha256: sha256Hex(input.email),
          error: err instanceof ApiError ? err.code : 'internal_error',
        },
      });
      throw err;
    }
    await appendAudit(services, {
      action: 'auth.signup',
      outcome: 'success',
      actorId: result.user.id,
      organizationId: result.organization.id,
      metadata: { via: result.via, role: result.role },
    });

    const session = await openSession(
      services,
      result.user.id,
      result.organization.id,
      sessionClient(c, options.clientIp),
    );
    const tokens = await issueTokens(
      c,
      { userId: result.user.id, organizationId: result.organization.id, role: result.role },
      session,
    );
    const body: SignupResponse = {
      user: userView(result.user),
      organization: organizationView(result.organization),
      role: result.role,
      installAdmin: result.user.installAdmin,
      ...tokens,
    };
    return reply(c, routes.signup, 201, body);
  });

  on(routes.login, async (c) => {
    const services = c.get('services');
    const input = await readJson(c, LoginRequest);
    await limitSignInAttempts(c, options.clientIp(c), input.email);
    const found = input.inviteToken
      ? await checkPasswordAndAccept(services, input.email, input.password, input.inviteToken)
      : await checkPassword(services, input.email, input.password);
    if (!found) {
      await appendAudit(services, {
        action: 'auth.login',
        outcome: 'failure',
        // The address is personal data and may be a mistyped password: keep only its hash.
        metadata: { emailSha256: sha256Hex(input.email) },
      });
      services.metrics.signInFailed('password');
      throw new ApiError('invalid_credentials', 'E-mail or password is incorrect');
    }
    if (found.user.mustChangePassword) {
      // Only after the password checked out, so this answer tells nothing to someone guessing.
      await appendAudit(services, {
        action: 'auth.login',
        outcome: 'denied',
        actorId: found.user.id,
        organizationId: found.organizationId,
        metadata: { reason: 'password_change_required' },
      });
      throw new ApiError(
        'password_change_required',
        'An administrator reset your password: choose a new one with the link they gave you',
      );
    }
    const settings = await readSignInSettings(services, found.organizationId);
    if (!passwordSignInAllowed(settings, found.role)) {
      await appendAudit(services, {
        action: 'auth.login',
        outcome: 'denied',
        actorId: found.user.id,
        organizationId: found.organizationId,
        metadata: { reason: settings.requireSso ? 'sso_required' : 'password_sign_in_disabled' },
      });
      throw new ApiError(
        'password_sign_in_disabled',
        settings.requireSso
          ? 'Your organization requires single sign-on: use its sign-in provider'
          : 'Your organization switched password sign-in off: use its sign-in provider',
      );
    }
    if (input.inviteToken) {
      await appendAudit(services, {
        action: 'invitation.accept',
        outcome: 'success',
        actorId: found.user.id,
        organizationId: found.organizationId,
        metadata: { role: found.role, via: 'sign-in' },
      });
    }
    const session = await openSession(
      services,
      found.user.id,
      found.organizationId,
      sessionClient(c, options.clientIp),
    );
    await appendAudit(services, {
      action: 'auth.login',
      outcome: 'success',
      actorId: found.user.id,
      organizationId: found.organizationId,
      targetId: session.sessionId,
    });
    const tokens = await issueTokens(
      c,
      { userId: found.user.id, organizationId: found.organizationId, role: found.role },
      session,
    );
    const body: LoginResponse = { user: userView(found.user), ...tokens };
    return reply(c, routes.login, 200, body);
  });

  on(routes.refresh, async (c) => {
    const services = c.get('services');
    const input = await readOptionalJson(c, RefreshRequest);
    let presented = input.refreshToken;
    if (!presented) {
      presented = getCookie(c, AUTH_COOKIES.refresh);
      if (presented) assertCsrf(c);
    }
    if (!presented) throw new ApiError('unauthorized', 'No refresh token: sign in first');
    const result = await rotateSession(services, presented, sessionClient(c, options.clientIp));
    if (result.kind === 'invalid') {
      clearSessionCookies(c);
      throw new ApiError('invalid_token', 'Refresh token is invalid or expired; sign in again');
    }
    if (result.kind === 'reused') {
      await appendAudit(services, {
        action: 'auth.refresh_reuse',
        outcome: 'denied',
        actorId: result.userId,
        organizationId: result.organizationId,
        targetId: result.sessionId,
      });
      clearSessionCookies(c);
      throw new ApiError(
        'invalid_token',
        'This refresh token was already used; the session is revoked for safety',
      );
    }
    const [row] = await services.db
      .select({ user: users, role: memberships.role, disabledAt: memberships.disabledAt })
      .from(users)
      .innerJoin(
        memberships,
        and(eq(memberships.userId, users.id), eq(memberships.organizationId, result.organizationId)),
      )
      .where(eq(users.id, result.userId))
      .limit(1);
    // Directory people (also accounts linked to a directory by e-mail) are asked about again.
    const admitted = row
      ? await directoryStillAdmits(services, options.directory, row.user.id, result.organizationId)
      : true;
    if (!row || row.user.disabledAt || row.disabledAt || row.user.mustChangePassword || !admitted) {
      await revokeSession(services, result.session.sessionId, 'account unavailable');
      clearSessionCookies(c);
      throw new ApiError('invalid_token', 'This account can no longer sign in');
    }
    const tokens = await issueTokens(
      c,
      { userId: row.user.id, organizationId: result.organizationId, role: row.role },
      result.session,
    );
    const body: RefreshResponse = { user: userView(row.user), ...tokens };
    return reply(c, routes.refresh, 200, body);
  });

  /**
   * Ends the session named by the access token, or by the refresh cookie when the access
   * token has already expired, so "sign out" works however stale the page is.
   */
  on(routes.logout, async (c) => {
    const services = c.get('services');
    await readOptionalJson(c, RefreshRequest);
    let sessionId: string | undefined;
    let actorId: string | undefined;
    let organizationId: string | undefined;
    const bearer = c.req.header('authorization')?.replace(/^Bearer /, '');
    const accessCookie = getCookie(c, AUTH_COOKIES.access);
    const refreshCookie = getCookie(c, AUTH_COOKIES.refresh);
    if (!bearer && (accessCookie || refreshCookie)) assertCsrf(c);
    const access = bearer ?? accessCookie;
    if (access) {
      try {
        const claims = await services.keys.verify(access);
        sessionId = claims.sid;
        actorId = claims.sub;
        organizationId = claims.org;
      } catch {
        // Fall through to the refresh cookie.
      }
    }
    if (!sessionId && refreshCookie) sessionId = await sessionOfRefreshToken(services, refreshCookie);
    if (!sessionId) throw new ApiError('unauthorized', 'No session to sign out of');
    await revokeSession(services, sessionId, 'logout');
    await appendAudit(services, {
      action: 'auth.logout',
      outcome: 'success',
      actorId: actorId ?? null,
      organizationId: organizationId ?? null,
      targetId: sessionId,
    });
    clearSessionCookies(c);
    return c.body(null, 204);
  });

  on(routes.me, async (c) => {
    const { db } = c.get('services');
    const p = c.get('principal');
    const [row] = await db
      .select({ user: users, organization: organizations })
      .from(users)
      .innerJoin(organizations, eq(organizations.id, p.organizationId))
      .where(eq(users.id, p.userId))
      .limit(1);
    if (!row) throw new ApiError('invalid_token', 'Session has ended; sign in again');
    const body: MeResponse = {
      user: userView(row.user),
      organization: organizationView(row.organization),
      role: p.role,
      installAdmin: row.user.installAdmin,
      permissions: Permission.options.filter((permission) => principalPermits(p, permission)),
    };
    return reply(c, routes.me, 200, body);
  });

  return app;
}

/** The device and address a session is opened or refreshed from (see the account's sessions list). */
export function sessionClient(c: Context<AppEnv>, clientIp: ClientIp): SessionClient {
  return { userAgent: c.req.header('user-agent'), address: clientIp(c) };
}
