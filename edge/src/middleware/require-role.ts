import { type Role, roleRank } from '@keel/contract/auth';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';

export function requireRole(minimum: Role): MiddlewareHandler<AppEnv> {
  return async function requireRoleMiddleware(c, next) {
    if (roleRank[c.get('principal').role] < roleRank[minimum]) {
      throw new ApiError('forbidden', `This needs the ${minimum} role or higher`);
    }
    await next();
  };
}
