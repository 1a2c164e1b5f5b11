import { systemRoutes } from '@keel/contract/api/system';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { isDraining } from '../http/graceful-stop.ts';
import { withTimeout } from '../services/with-timeout.ts';

const CHECK_BUDGET_MS = 2_000;

export function healthRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '');

  /** The process answers: nothing else is checked, so a load balancer never flaps on a dependency. */
  on(systemRoutes.healthz, (c) => reply(c, systemRoutes.healthz, 200, { status: 'ok' }));

  /** Ready to serve: the database and Redis both answer within the budget. */
  on(systemRoutes.readyz, async (c) => {
    // Stopping: the load balancer takes this edge out while it finishes what it serves.
    if (isDraining()) throw new ApiError('not_ready', 'Not ready: this edge is stopping');
    const services = c.get('services');
    const [database, redis] = await Promise.all([
      withTimeout(services.db.execute(sql`select 1`), CHECK_BUDGET_MS).then(
        () => 'ok' as const,
        () => 'unavailable' as const,
      ),
      withTimeout(services.commands.send(['PING']), CHECK_BUDGET_MS).then(
        () => 'ok' as const,
        () => 'unavailable' as const,
      ),
    ]);
    if (database !== 'ok' || redis !== 'ok') {
      throw new ApiError('not_ready', `Not ready: database ${database}, redis ${redis}`);
    }
    return reply(c, systemRoutes.readyz, 200, { status: 'ready', checks: { database, redis } });
  });

  return app;
}
