import type { Permission } from '@keel/contract/permissions';
import type { Context, MiddlewareHandler } from 'hono';
import { type AppEnv, principalPermits } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { ApiError } from '../http/api-error.ts';

/**
 * Refuses callers whose role (narrowed by their access token's scopes, if they used one) lacks
 * `permission`. A refusal is recorded (who, which route pattern, the permission it needed), so
 * attempts at admin actions show in the audit trail; the pattern (`/api/admin/runners/:id`)
 * carries no ids or text from the request.
 */
export function requirePermission(permission: Permission): MiddlewareHandler<AppEnv> {
  return async function requirePermissionMiddleware(c, next) {
    await assertPermission(c, permission);
    await next();
  };
}

/** What `requirePermission` does, for a handler that authenticates the caller itself. */
export async function assertPermission(c: Context<AppEnv>, permission: Permission): Promise<void> {
  const p = c.get('principal');
  if (principalPermits(p, permission)) return;
  await appendAudit(c.get('services'), {
    action: 'access.denied',
    outcome: 'denied',
    actorId: p.userId,
    organizationId: p.organizationId,
    metadata: {
      method: c.req.method,
      route: c.req.routePath,
      required: permission,
      role: p.role,
      ...(p.tokenPermissions ? { token: true } : {}),
    },
  });
  throw new ApiError('forbidden', `This needs the ${permission} permission`);
}
