import { adminRoutes } from '@keel/contract/api/admin';
import { HealthQuery, type HealthQueue, type HealthReport } from '@keel/contract/health';
import { bullPrefixOf, callListKey, runnerKeyBase, runnerQueueName } from '@keel/contract/keys';
import { runners, servers, workspaces } from '@keel/drizzle/schema';
import { and, eq, isNull, or, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { chainOf } from '../audit/audit-log.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readQuery } from '../http/validate.ts';
import { auditVerdictOf } from '../metrics/audit-schedule.ts';
import { minuteOf, quantileSeconds, readRequestMinutes, sumMinutes } from '../metrics/request-minutes.ts';
import { heartbeatsOf } from '../runners/registry.ts';
import type { Services } from '../services.ts';

/** A fleet bigger than this is summed over its first runners only; the page is a glance, not a census. */
const MAX_RUNNERS = 1_000;
const MAX_SERVERS = 10_000;

/** `GET /api/admin/health`: the organization's fleet and every edge's request figures, now. */
export function adminHealthRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/admin/health');

  on(adminRoutes.adminHealth, async (c) => {
    const services = c.get('services');
    const organizationId = c.get('principal').organizationId;
    const query = readQuery(c, HealthQuery);
    return reply(
      c,
      adminRoutes.adminHealth,
      200,
      await healthReport(services, organizationId, query.minutes),
    );
  });

  return app;
}

export async function healthReport(
  services: Services,
  organizationId: string,
  windowMinutes: number,
): Promise<HealthReport> {
  const now = services.clock.now();
  // The organization's runners and the shared ones, as the runner list shows them; revoked ones
  // are no longer part of the fleet.
  const runnerRows = await services.db
    .select({ id: runners.id })
    .from(runners)
    .where(
      and(
        or(eq(runners.organizationId, organizationId), isNull(runners.organizationId)),
        isNull(runners.revokedAt),
      ),
    )
    .limit(MAX_RUNNERS);
  const runnerIds = runnerRows.map((r) => r.id);
  const [beats, serverRows, workspaceRows, queues, minutes, auditChain] = await Promise.all([
    heartbeatsOf(services, runnerIds),
    services.db
      .select({ status: servers.status, disabled: servers.disabled, drainingAt: servers.drainingAt })
      .from(servers)
      .where(eq(servers.organizationId, organizationId))
      .limit(MAX_SERVERS),
    services.db
      .select({ status: workspaces.status, count: sql<number>`count(*)::int` })
      .from(workspaces)
      .where(and(eq(workspaces.organizationId, organizationId), isNull(workspaces.deletedAt)))
      .groupBy(workspaces.status),
    queueDepths(services, runnerIds, now.getTime()),
    readRequestMinutes(
      services.redis(),
      services,
      minuteOf(now.getTime()) - windowMinutes + 1,
      minuteOf(now.getTime()),
    ),
    auditVerdictOf(services, chainOf(organizationId)),
  ]);

  let maxAge: number | null = null;
  for (const beat of beats.values()) {
    const at = Date.parse(beat.at);
    if (!Number.isFinite(at)) continue;
    const age = Math.max(0, (now.getTime() - at) / 1000);
    maxAge = maxAge === null ? age : Math.max(maxAge, age);
  }

  const byState: Record<string, number> = {};
  for (const s of serverRows) {
    // Disabled and draining say more than the last test's status does.
    const state = s.disabled ? 'disabled' : s.drainingAt ? 'draining' : s.status;
    byState[state] = (byState[state] ?? 0) + 1;
  }

  const totals = sumMinutes(minutes);
  const ms = (seconds: number | null) => (seconds === null ? null : Math.round(seconds * 10_000) / 10);
  return {
    generatedAt: now.toISOString(),
    runners: {
      total: runnerIds.length,
      online: beats.size,
      maxHeartbeatAgeSeconds: maxAge === null ? null : Math.round(maxAge * 10) / 10,
    },
    servers: { total: serverRows.length, byState },
    workspaces: { byStatus: Object.fromEntries(workspaceRows.map((w) => [w.status, w.count])) },
    queues,
    requests: {
      minutes: minutes.map((m) => ({
        start: new Date(m.minute * 60_000).toISOString(),
        requests: m.requests,
        errors: m.errors,
        p50Ms: ms(quantileSeconds(m.buckets, 0.5)),
        p99Ms: ms(quantileSeconds(m.buckets, 0.99)),
      })),
      requests: totals.requests,
      errorRate: totals.requests === 0 ? null : totals.errors / totals.requests,
      p99Ms: ms(quantileSeconds(totals.buckets, 0.99)),
    },
    auditChain,
  };
}

/**
 * The runners' BullMQ queues (`jobs`) and their call lists (`calls`), summed over the given
 * runners, read from the keys BullMQ keeps per queue (`<prefix>:<queue>:wait`, `:paused`,
 * `:prioritized`, `:active`, `:delayed`, `:failed`) in one pipeline, then the oldest waiting job's
 * `timestamp` in a second. Workers take from the wait list's right end, so its last entry is the
 * oldest. Calls carry only a deadline, not when they were sent: their oldest wait is unknown (null).
 */
async function queueDepths(services: Services, runnerIds: string[], nowMs: number): Promise<HealthQueue[]> {
  const jobs: HealthQueue = {
    name: 'jobs',
    waiting: 0,
    active: 0,
    delayed: 0,
    failed: 0,
    oldestWaitingSeconds: null,
  };
  const calls: HealthQueue = {
    name: 'calls',
    waiting: 0,
    active: 0,
    delayed: 0,
    failed: 0,
    oldestWaitingSeconds: null,
  };
  if (runnerIds.length === 0) return [jobs, calls];
  const redis = services.redis();
  const bull = bullPrefixOf(services.config.redisPrefix);
  const PER_RUNNER = 8;
  const pipeline = redis.pipeline();
  for (const id of runnerIds) {
    const q = `${bull}:${runnerQueueName(id)}`;
    pipeline
      .llen(`${q}:wait`)
      .llen(`${q}:paused`)
      .zcard(`${q}:prioritized`)
      .llen(`${q}:active`)
      .zcard(`${q}:delayed`)
      .zcard(`${q}:failed`)
      .lindex(`${q}:wait`, -1)
      .llen(callListKey(runnerKeyBase(services.config.redisPrefix, runnerQueueName(id))));
  }
  const results = (await pipeline.exec()) ?? [];
  const value = (i: number) => {
    const [err, v] = results[i] ?? [null, null];
    if (err) throw err;
    return v;
  };
  const oldest: string[] = [];
  runnerIds.forEach((id, r) => {
    const at = r * PER_RUNNER;
    jobs.waiting += Number(value(at)) + Number(value(at + 1)) + Number(value(at + 2));
    jobs.active += Number(value(at + 3));
    jobs.delayed += Number(value(at + 4));
    jobs.failed += Number(value(at + 5));
    const last = value(at + 6);
    if (typeof last === 'string' && last) oldest.push(`${bull}:${runnerQueueName(id)}:${last}`);
    calls.waiting += Number(value(at + 7));
  });
  if (oldest.length > 0) {
    const stamps = redis.pipeline();
    for (const key of oldest) stamps.hget(key, 'timestamp');
    let earliest = Number.POSITIVE_INFINITY;
    for (const [err, v] of (await stamps.exec()) ?? []) {
      const t = err ? Number.NaN : Number(v);
      if (Number.isFinite(t) && t > 0) earliest = Math.min(earliest, t);
    }
    if (Number.isFinite(earliest))
      jobs.oldestWaitingSeconds = Math.max(0, Math.round((nowMs - earliest) / 100) / 10);
  }
  return [jobs, calls];
}
