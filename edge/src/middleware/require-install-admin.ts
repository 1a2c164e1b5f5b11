import { users } from '@keel/drizzle/schema';
import { and, eq, isNull } from 'drizzle-orm';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { ApiError } from '../http/api-error.ts';

/**
 * Refuses callers who are not install administrators, whatever their organization role.
 * The database decides, not the session cache: a revoked grant acts at the next request.
 * A refusal is recorded in the install chain (who, from which organization, which route
 * pattern), where install administrators see attempts on what they manage.
 */
export function requireInstallAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireInstallAdminMiddleware(c, next) {
    await assertInstallAdmin(c);
    await next();
  };
}

export async function assertInstallAdmin(c: Context<AppEnv>): Promise<void> {
  const services = c.get('services');
  const p = c.get('principal');
  const [row] = await services.db
    .select({ installAdmin: users.installAdmin })
    .from(users)
    .where(and(eq(users.id, p.userId), isNull(users.disabledAt)))
    .limit(1);
  if (row?.installAdmin) return;
  await appendAudit(services, {
    action: 'access.denied',
    outcome: 'denied',
    actorId: p.userId,
    organizationId: null,
    metadata: {
      method: c.req.method,
      route: c.req.routePath,
      required: 'install_admin',
      role: p.role,
      organization: p.organizationId,
    },
  });
  throw new ApiError('forbidden', 'This needs an install administrator');
}
