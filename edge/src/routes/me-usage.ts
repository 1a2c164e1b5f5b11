import { accountRoutes } from '@keel/contract/api/account';
import { MyUsageQuery, type MyUsageReport } from '@keel/contract/usage';
import { aiUsage } from '@keel/drizzle/schema';
import { and, eq, gte, lt, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readQuery } from '../http/validate.ts';
import { usageCsvAnswer } from '../usage/usage-answer.ts';
import { readResourceUsage, type UsageScope, usageWindow } from '../usage/usage-read.ts';

/**
 * `GET /api/me/usage`: what the caller's own workspaces used in their organization, and their
 * own AI calls per model. Reading one's own usage changes nothing, so a personal access token
 * may read it (unlike the rest of the account).
 */
export function myUsageRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/me/usage');

  on(accountRoutes.myUsage, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const query = readQuery(c, MyUsageQuery);
    const window = usageWindow(query, services.clock.now());
    const scope: UsageScope = { organizationId: p.organizationId, userId: p.userId };
    if (query.format === 'csv') return usageCsvAnswer(c, services.db, scope, window);
    const [resources, models] = await Promise.all([
      readResourceUsage(services.db, scope, window),
      services.db
        .select({
          model: aiUsage.model,
          calls: sql<number>`count(*)::int`,
          promptTokens: sql<number>`coalesce(sum(${aiUsage.promptTokens}), 0)::float8`,
          completionTokens: sql<number>`coalesce(sum(${aiUsage.completionTokens}), 0)::float8`,
        })
        .from(aiUsage)
        .where(
          and(
            eq(aiUsage.organizationId, p.organizationId),
            eq(aiUsage.userId, p.userId),
            gte(aiUsage.createdAt, window.since),
            lt(aiUsage.createdAt, window.until),
          ),
        )
        .groupBy(aiUsage.model)
        .orderBy(aiUsage.model),
    ]);
    const body: MyUsageReport = {
      since: window.since.toISOString(),
      until: window.until.toISOString(),
      granularity: window.granularity,
      ...resources,
      models: models.map((m) => ({
        model: m.model,
        calls: Number(m.calls),
        promptTokens: Number(m.promptTokens),
        completionTokens: Number(m.completionTokens),
      })),
    };
    return reply(c, accountRoutes.myUsage, 200, body);
  });

  return app;
}
