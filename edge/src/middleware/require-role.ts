import { type Role, roleRank } from '@keel/contract/auth';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { ApiError } from '../http/api-error.ts';

/**
 * Refuses callers below `minimum`. A refusal is recorded (who, which route pattern, the
 * role it needed), so attempts at admin actions show in the audit trail; the pattern
 * (`/api/admin/runners/:id`) carries no ids or text from the request.
 */
export function requireRole(minimum: Role): MiddlewareHandler<AppEnv> {
  return async function requireRoleMiddleware(c, next) {
    await assertRole(c, minimum);
    await next();
  };
}

/** What `requireRole` does, for a handler that learns the caller's role itself. */
export async function assertRole(c: Context<AppEnv>, minimum: Role): Promise<void> {
  const p = c.get('principal');
  if (roleRank[p.role] >= roleRank[minimum]) return;
  await appendAudit(c.get('services'), {
    action: 'access.denied',
    outcome: 'denied',
    actorId: p.userId,
    organizationId: p.organizationId,
    metadata: { method: c.req.method, route: c.req.routePath, required: minimum, role: p.role },
  });
  throw new ApiError('forbidden', `This needs the ${minimum} role or higher`);
}
