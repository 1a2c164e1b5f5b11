/*
 * Placement decision time with 50 runners' heartbeats: decidePlacement (policy, runners,
 * heartbeats, committed resources, judging, the least-loaded pick and the recorded decision)
 * against the pick it replaced (most free slots from the heartbeats, nothing recorded), both
 * over the same PostgreSQL and Redis in the same run.
 */
import { randomBytes } from 'node:crypto';
import { runnerKeys } from '@keel/contract/keys';
import { runners, workspaces } from '@keel/drizzle/schema';
import { and, eq, isNull, or } from 'drizzle-orm';
import { newId } from '../edge/src/ids.ts';
import { decidePlacement } from '../edge/src/placement/decide.ts';
import { heartbeatsOf } from '../edge/src/runners/registry.ts';
import type { Services } from '../edge/src/services.ts';
import { collectHeartbeat } from '../runners/src/heartbeat.ts';
import { BrowserClient } from '../tests/harness/browser-client.ts';
import { createTestApp } from '../tests/harness/test-app.ts';
import type { Figure } from './figure.ts';
import { count } from './scale.ts';
import { round, summarize, timeEach } from './stats.ts';

const RUNNERS = 50;
const WORKSPACES_PER_RUNNER = 4;

/** The placement before policies: the online runner with the most free slots. */
async function mostFreeSlots(services: Services, organizationId: string) {
  const rows = await services.db
    .select()
    .from(runners)
    .where(
      and(
        or(eq(runners.organizationId, organizationId), isNull(runners.organizationId)),
        isNull(runners.revokedAt),
      ),
    );
  const beats = await heartbeatsOf(
    services,
    rows.map((r) => r.id),
  );
  let best: { id: string; load: number } | undefined;
  for (const row of rows) {
    const beat = beats.get(row.id);
    if (!beat) continue;
    const load = beat.workspacesRunning / Math.max(1, row.capacity.workspaces);
    if (load < 1 && (!best || load < best.load)) best = { id: row.id, load };
  }
  return best;
}

export async function benchPlacement(): Promise<Figure[]> {
  const n = count(1000, 50);
  const app = await createTestApp({ database: 'postgres' });
  try {
    const services = app.services;
    const admin = new BrowserClient((path, init) => app.fetch(path, init));
    const signup = await admin.request('POST', '/api/auth/signup', {
      email: 'bench-placement@example.com',
      password: 'correct horse battery staple',
      name: 'Bench',
    });
    const organizationId = signup.body.organization.id as string;
    const ownerId = signup.body.user.id as string;
    const now = new Date();
    const runnerRows = Array.from({ length: RUNNERS }, (_, i) => ({
      id: newId('runner'),
      organizationId,
      name: `bench-${i}`,
      labels: { region: i % 2 ? 'eu' : 'us' },
      drivers: ['docker'],
      capacity: { workspaces: 20, cpus: 16, memoryMb: 65_536 },
      version: 'bench',
      credentialHash: randomBytes(32).toString('hex'),
      createdAt: now,
    }));
    await services.db.insert(runners).values(runnerRows);
    // Live workspaces on every runner, so the committed-resources query has rows to group.
    const wsRows = runnerRows.flatMap((r, i) =>
      Array.from({ length: WORKSPACES_PER_RUNNER }, (_, j) => ({
        id: newId('workspace'),
        organizationId,
        ownerId,
        name: `bench-${i}-${j}`,
        source: { type: 'empty' as const },
        resources: { cpus: 1 + (i % 3), memoryMb: 1024 * (1 + (j % 4)) },
        network: false,
        runnerId: r.id,
        driver: 'docker',
        status: 'creating',
      })),
    );
    await services.db.insert(workspaces).values(wsRows);
    // Heartbeats as the runner writes them (its own module), with varied load.
    const redis = services.redis();
    for (const [i, r] of runnerRows.entries()) {
      const beat = await collectHeartbeat({
        runnerId: r.id,
        driver: 'docker',
        dataDir: '/tmp',
        workspacesRunning: WORKSPACES_PER_RUNNER,
        gpus: [],
      });
      beat.cpus = 16;
      beat.memory = { totalMb: 65_536, freeMb: 40_000 + i * 100 };
      await redis.set(
        runnerKeys(services.config.redisPrefix, r.id).heartbeat,
        JSON.stringify(beat),
        'EX',
        3600,
      );
    }
    const target = wsRows[0]!.id;

    const ask = {
      organizationId,
      workspaceId: target,
      generation: 1,
      resources: { cpus: 1, memoryMb: 1024 },
      reason: 'create' as const,
    };
    // Interleaved, one of each per round: the machine's load at any moment weighs on both alike.
    const base: number[] = [];
    const ours: number[] = [];
    await timeEach(n, async (i) => {
      const t0 = performance.now();
      if (!(await mostFreeSlots(services, organizationId))) throw new Error('no runner');
      const t1 = performance.now();
      const outcome = await decidePlacement(services, ask);
      const t2 = performance.now();
      if (!outcome.runner) throw new Error(outcome.decision.summary);
      if (i >= 0) {
        base.push(t1 - t0);
        ours.push(t2 - t1);
      }
    });
    const baseline = summarize(base.slice(-n));
    const keel = summarize(ours.slice(-n));
    return [
      {
        name: `placement decision, ${RUNNERS} runners' heartbeats, p50 (n=${n})`,
        keel: `${round(keel.p50)} ms (p99 ${round(keel.p99)})`,
        baseline: `${round(baseline.p50)} ms (p99 ${round(baseline.p99)}), most free slots, unrecorded`,
        ratio: `${round(keel.p50 / baseline.p50)}×`,
        target: '≤ 2 ms',
        pass: keel.p50 <= 2,
      },
    ];
  } finally {
    await app.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchPlacement();
  console.log(JSON.stringify(figures, null, 2));
  process.exit(0);
}
