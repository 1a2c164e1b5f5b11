import { serverRoutes as routes } from '@keel/contract/api/servers';
import type { ServerKind } from '@keel/contract/servers';
import { servers } from '@keel/drizzle/schema';
import { and, asc, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';

/** What every member may see of the servers: the ones a new workspace may be placed on. */
export function placeableServerRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/servers');

  on(routes.listPlaceableServers, async (c) => {
    const services = c.get('services');
    const rows = await services.db
      .select({
        id: servers.id,
        name: servers.name,
        kind: servers.kind,
        region: servers.region,
        labels: servers.labels,
      })
      .from(servers)
      .where(
        and(
          eq(servers.organizationId, c.get('principal').organizationId),
          eq(servers.disabled, false),
          eq(servers.status, 'ok'),
        ),
      )
      .orderBy(asc(servers.name))
      .limit(1000);
    return reply(c, routes.listPlaceableServers, 200, {
      servers: rows.map((r) => ({ ...r, kind: r.kind as ServerKind })),
    });
  });

  return app;
}
