import { accountRoutes as routes } from '@keel/contract/api/account';
import { idSchema } from '@keel/contract/ids';
import { Hono } from 'hono';
import { z } from 'zod';
import { adminResetPassword } from '../accounts/password-change.ts';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readParams } from '../http/validate.ts';

/** `POST /api/admin/members/{userId}/reset-password` (the rest of /api/admin/members is members.ts's). */
export function adminPasswordResetRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/admin/members');

  // Route access (members:manage) authenticates and checks the permission, token scopes included.
  on(routes.adminResetPassword, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const { userId } = readParams(c, z.object({ userId: z.string() }));
    if (!idSchema('user').safeParse(userId).success) throw new ApiError('not_found', 'No such member');
    let reset: Awaited<ReturnType<typeof adminResetPassword>>;
    try {
      reset = await adminResetPassword(services, p, userId);
    } catch (err) {
      if (err instanceof ApiError && err.code !== 'not_found')
        await appendAudit(services, {
          action: 'member.password_reset',
          outcome: 'denied',
          actorId: p.userId,
          organizationId: p.organizationId,
          targetId: userId,
          metadata: { error: err.code },
        });
      throw err;
    }
    await appendAudit(services, {
      action: 'member.password_reset',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      targetId: userId,
    });
    c.header('Cache-Control', 'no-store');
    return reply(c, routes.adminResetPassword, 200, {
      resetToken: reset.token,
      resetPath: `/reset-password#token=${encodeURIComponent(reset.token)}`,
      expiresAt: reset.expiresAt.toISOString(),
    });
  });

  return app;
}
