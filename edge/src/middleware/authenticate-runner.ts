import { runners } from '@keel/drizzle/schema';
import { and, eq, isNull } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { sha256Hex } from '../auth/bytes.ts';
import { ApiError } from '../http/api-error.ts';

/** A runner presents the credential it got at registration; a revoked one is refused at once. */
export function authenticateRunner(): MiddlewareHandler<AppEnv> {
  return async function authenticateRunnerMiddleware(c, next) {
    // Routes mounted side by side may each run this for one request: the first check stands.
    if (c.get('runnerId')) return next();
    const m = /^Bearer (rnc_[A-Za-z0-9_-]{20,100})$/.exec(c.req.header('authorization') ?? '');
    if (!m) throw new ApiError('unauthorized', 'Runner credential required');
    const [row] = await c
      .get('services')
      .db.select({ id: runners.id })
      .from(runners)
      .where(and(eq(runners.credentialHash, sha256Hex(m[1]!)), isNull(runners.revokedAt)))
      .limit(1);
    if (!row) throw new ApiError('invalid_token', 'Runner credential is invalid or revoked');
    c.set('runnerId', row.id);
    await next();
  };
}
