import { runners, servers } from '@keel/drizzle/schema';
import { isNull } from 'drizzle-orm';
import { heartbeatsOf } from '../runners/registry.ts';
import type { Services } from '../services.ts';
import type { EdgeMetricSet } from './prom-recorder.ts';

/** Label `server` of a runner's own series (its host); the servers it drives get their names. */
export const RUNNER_HOST = 'host';

/**
 * keel_runner_heartbeat_age_seconds, read at scrape time: one series per registered runner
 * (not revoked) for its own host, and one per infrastructure server assigned to it by id (what
 * the edge knows of a server comes through its runner, so it is as fresh as that runner's last
 * report). The age is from the heartbeat's own time while it stands, else from when the sweep
 * last saw it (or its registration). Bounded by what is registered; the gauge is emptied first,
 * so a revoked runner's series goes.
 */
export async function collectHeartbeatAges(services: Services, metrics: EdgeMetricSet): Promise<void> {
  const rows = await services.db
    .select({
      id: runners.id,
      name: runners.name,
      lastSeenAt: runners.lastSeenAt,
      createdAt: runners.createdAt,
    })
    .from(runners)
    .where(isNull(runners.revokedAt))
    .limit(10_000);
  const assigned = await services.db
    .select({ name: servers.name, assignment: servers.assignment })
    .from(servers)
    .limit(10_000);
  const beats = await heartbeatsOf(
    services,
    rows.map((r) => r.id),
  );
  const now = services.clock.now().getTime();
  const gauge = metrics.heartbeatAge;
  gauge.reset();
  for (const r of rows) {
    const beat = beats.get(r.id);
    const at = beat ? Date.parse(beat.at) : (r.lastSeenAt ?? r.createdAt).getTime();
    const age = Math.max(0, (now - (Number.isFinite(at) ? at : now)) / 1000);
    gauge.labels(r.name, RUNNER_HOST).set(age);
    for (const s of assigned) {
      if (s.assignment && 'runnerId' in s.assignment && s.assignment.runnerId === r.id)
        gauge.labels(r.name, s.name).set(age);
    }
  }
}
