import type { Permission } from '@keel/contract/permissions';
import type { Context, MiddlewareHandler } from 'hono';
import { type AppEnv, principalPermits } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { ApiError } from '../http/api-error.ts';

/** Refuses a caller without `permission` (403), and records the refusal as requireRole does. */
export function requirePermission(permission: Permission): MiddlewareHandler<AppEnv> {
  return async function requirePermissionMiddleware(c, next) {
    await assertPermission(c, permission);
    await next();
  };
}

export async function assertPermission(c: Context<AppEnv>, permission: Permission): Promise<void> {
  const p = c.get('principal');
  if (principalPermits(p, permission)) return;
  await appendAudit(c.get('services'), {
    action: 'access.denied',
    outcome: 'denied',
    actorId: p.userId,
    organizationId: p.organizationId,
    metadata: { method: c.req.method, route: c.req.routePath, required: permission, role: p.role },
  });
  throw new ApiError('forbidden', `This needs the ${permission} permission`);
}
