import { AiUsageQuery, type AiUsageResponse, type AiUsageTotals } from '@keel/contract/ai-jobs';
import { adminRoutes } from '@keel/contract/api/admin';
import { aiUsage, users } from '@keel/drizzle/schema';
import { and, eq, gte, lt, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readQuery } from '../http/validate.ts';

const DAY_MS = 24 * 3600 * 1000;
const DEFAULT_WINDOW_MS = 30 * DAY_MS;
const MAX_WINDOW_MS = 366 * DAY_MS;
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

/** `GET /api/admin/usage`: AI use of the admin's organization over a window, per user, model and kind. */
export function adminUsageRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/admin/usage');

  on(adminRoutes.adminUsage, async (c) => {
    const services = c.get('services');
    const organizationId = c.get('principal').organizationId;
    const query = readQuery(c, AiUsageQuery);
    const until = query.until ? new Date(query.until) : services.clock.now();
    const since = query.since ? new Date(query.since) : new Date(until.getTime() - DEFAULT_WINDOW_MS);
    if (since >= until) throw new ApiError('validation_failed', 'since must be before until');
    if (until.getTime() - since.getTime() > MAX_WINDOW_MS) {
      throw new ApiError('validation_failed', 'The window is at most 366 days');
    }
    const where = and(
      eq(aiUsage.organizationId, organizationId),
      gte(aiUsage.createdAt, since),
      lt(aiUsage.createdAt, until),
    );
    const [org, byUser, byModel, byKind, byDay, byWorkspace] = await Promise.all([
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
    ]);
    const body: AiUsageResponse = {
      since: since.toISOString(),
      until: until.toISOString(),
      organization: tidy({ organizationId, ...org[0]! }),
      users: byUser.map(tidy),
      models: byModel.map(tidy),
      kinds: byKind.map(tidy),
      days: byDay.map(tidy),
      workspaces: byWorkspace.map(tidy),
    };
    return reply(c, adminRoutes.adminUsage, 200, body);
  });

  return app;
}
