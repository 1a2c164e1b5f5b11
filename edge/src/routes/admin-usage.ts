import type { AiUsageTotals } from '@keel/contract/ai-jobs';
import { adminRoutes } from '@keel/contract/api/admin';
import { UsageQuery, type UsageReport } from '@keel/contract/usage';
import { aiUsage, users } from '@keel/drizzle/schema';
import { and, eq, gte, lt, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readQuery } from '../http/validate.ts';
import { usageCsvAnswer } from '../usage/usage-answer.ts';
import {
  inTeam,
  readResourceUsage,
  readUsageByTeam,
  readUsageByUser,
  type UsageScope,
  usageWindow,
} from '../usage/usage-read.ts';

/** The busiest users first; a dashboard pages nothing, so the list is bounded. */
const MAX_USERS = 1_000;
const MAX_WORKSPACES = 200;
/** The UTC day of a call, as the console's day chart labels it. */
const utcDay = sql<string>`to_char(${aiUsage.createdAt} at time zone 'UTC', 'YYYY-MM-DD')`;

// Sums as float8: exact far beyond any token count, and a number (not a string) from both drivers.
const totals = {
  calls: sql<number>`count(*)::int`,
  failures: sql<number>`(count(*) filter (where ${aiUsage.outcome} = 'failure'))::int`,
  cancelled: sql<number>`(count(*) filter (where ${aiUsage.outcome} = 'cancelled'))::int`,
  promptTokens: sql<number>`coalesce(sum(${aiUsage.promptTokens}), 0)::float8`,
  completionTokens: sql<number>`coalesce(sum(${aiUsage.completionTokens}), 0)::float8`,
  meanFirstTokenMs: sql<number | null>`avg(${aiUsage.firstTokenMs})::float8`,
  meanLatencyMs: sql<number | null>`avg(${aiUsage.latencyMs})::float8`,
};

function tidy<T extends AiUsageTotals>(row: T): T {
  const round = (x: number | null) => (x === null ? null : Math.round(Number(x)));
  return {
    ...row,
    promptTokens: Number(row.promptTokens),
    completionTokens: Number(row.completionTokens),
    meanFirstTokenMs: round(row.meanFirstTokenMs),
    meanLatencyMs: round(row.meanLatencyMs),
  };
}

/**
 * `GET /api/admin/usage`: what the admin's organization used over a window: its workspaces'
 * resources from the hourly or daily rollup, and its AI calls per user, model, kind, day and
 * workspace. The filters (owner, workspace, team) narrow every part; another organization's ids
 * simply match nothing. `format=csv` downloads the rollup rows instead.
 */
export function adminUsageRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/admin/usage');

  on(adminRoutes.adminUsage, async (c) => {
    const services = c.get('services');
    const organizationId = c.get('principal').organizationId;
    const query = readQuery(c, UsageQuery);
    const window = usageWindow(query, services.clock.now());
    const { since, until } = window;
    const scope: UsageScope = {
      organizationId,
      userId: query.userId,
      workspaceId: query.workspaceId,
      team: query.team,
    };
    if (query.format === 'csv') return usageCsvAnswer(c, services.db, scope, window);
    const where = and(
      eq(aiUsage.organizationId, organizationId),
      gte(aiUsage.createdAt, since),
      lt(aiUsage.createdAt, until),
      query.userId === undefined ? undefined : eq(aiUsage.userId, query.userId),
      query.workspaceId === undefined ? undefined : eq(aiUsage.workspaceId, query.workspaceId),
      query.team === undefined ? undefined : inTeam(aiUsage.userId, query.team),
    );
    const [org, byUser, byModel, byKind, byDay, byWorkspace, resources, resourceUsers, resourceTeams] =
      await Promise.all([
        services.db.select(totals).from(aiUsage).where(where),
        services.db
          .select({ userId: aiUsage.userId, email: users.email, ...totals })
          .from(aiUsage)
          .leftJoin(users, eq(users.id, aiUsage.userId))
          .where(where)
          .groupBy(aiUsage.userId, users.email)
          .orderBy(sql`count(*) desc`)
          .limit(MAX_USERS),
        services.db
          .select({ model: aiUsage.model, ...totals })
          .from(aiUsage)
          .where(where)
          .groupBy(aiUsage.model),
        services.db
          .select({ kind: aiUsage.kind, ...totals })
          .from(aiUsage)
          .where(where)
          .groupBy(aiUsage.kind),
        // At most 366 rows: the window is capped.
        services.db
          .select({ day: utcDay, ...totals })
          .from(aiUsage)
          .where(where)
          .groupBy(utcDay)
          .orderBy(utcDay),
        services.db
          .select({ workspaceId: aiUsage.workspaceId, ...totals })
          .from(aiUsage)
          .where(where)
          .groupBy(aiUsage.workspaceId)
          .orderBy(sql`count(*) desc`)
          .limit(MAX_WORKSPACES),
        readResourceUsage(services.db, scope, window),
        readUsageByUser(services.db, scope, window),
        readUsageByTeam(services.db, scope, window),
      ]);
    const body: UsageReport = {
      since: since.toISOString(),
      until: until.toISOString(),
      organization: tidy({ organizationId, ...org[0]! }),
      users: byUser.map(tidy),
      models: byModel.map(tidy),
      kinds: byKind.map(tidy),
      days: byDay.map(tidy),
      workspaces: byWorkspace.map(tidy),
      granularity: window.granularity,
      resources: { ...resources, users: resourceUsers, teams: resourceTeams },
    };
    return reply(c, adminRoutes.adminUsage, 200, body);
  });

  return app;
}
