/*
 * What the permission check and the request limits add to a signed-in request: the same route
 * on the same services, once behind `authenticate` alone (the baseline) and once behind what the
 * described routes mount (`accessChecks`: authentication with the request limits by address,
 * person and plan in one Redis round trip, then the permission), with the app-wide limits
 * middleware in front. Requests alternate between the two, in process (`app.request`), over the
 * same real PostgreSQL and Redis, so drift falls on both alike.
 */
import { organizations } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { type Handler, Hono, type MiddlewareHandler } from 'hono';
import type { AppEnv } from '../edge/src/app-env.ts';
import { accessChecks } from '../edge/src/http/described-routes.ts';
import { onError } from '../edge/src/http/error-handler.ts';
import { authenticate } from '../edge/src/middleware/authenticate.ts';
import { requestLimits } from '../edge/src/middleware/rate-limits.ts';
import { BrowserClient } from '../tests/harness/browser-client.ts';
import { createTestApp } from '../tests/harness/test-app.ts';
import type { Figure } from './figure.ts';
import { count } from './scale.ts';
import { round, summarize } from './stats.ts';

const TARGET_MS = 0.2;

export async function benchRequestChecks(): Promise<Figure[]> {
  const n = count(5000, 200);
  const t = await createTestApp({ database: 'postgres' });
  try {
    const admin = new BrowserClient((path, init) => t.fetch(path, init));
    const signup = await admin.request('POST', '/api/auth/signup', {
      email: 'bench-checks@example.com',
      password: 'correct horse battery staple',
      name: 'Bench',
    });
    const organizationId = signup.body.organization.id as string;
    // A plan with a request limit, so all three counters are counted (the most a request pays).
    await t.services.db
      .update(organizations)
      .set({
        plan: {
          name: 'Bench',
          limits: {
            aiTokensPerDay: null,
            concurrentWorkspaces: null,
            concurrentCommands: null,
            apiRequestsPerMinute: 1_000_000_000,
          },
        },
      })
      .where(eq(organizations.id, organizationId));

    const setup: MiddlewareHandler<AppEnv> = async (c, next) => {
      c.set('services', t.services);
      c.set('clientIp', () => '10.200.0.1');
      await next();
    };
    const answer: Handler<AppEnv> = (c) => c.json({ ok: true });
    const baseline = new Hono<AppEnv>();
    baseline.use('*', setup);
    baseline.get('/x', authenticate(), answer);
    baseline.onError(onError);
    const checked = new Hono<AppEnv>();
    checked.use('*', setup);
    checked.use('*', requestLimits());
    // As the described routes mount them (http/described-routes.ts).
    (checked.get as (path: string, ...handlers: Handler<AppEnv>[]) => unknown)(
      '/x',
      ...accessChecks({ kind: 'permission', permission: 'workspaces:read' }),
      answer,
    );
    checked.onError(onError);

    const init = { headers: { authorization: `Bearer ${admin.accessToken}` } };
    const once = async (app: Hono<AppEnv>) => {
      const start = performance.now();
      const res = await app.request('http://keel.test/x', init);
      const ms = performance.now() - start;
      if (res.status !== 200) throw new Error(`bench request answered ${res.status}: ${await res.text()}`);
      return ms;
    };
    for (let i = 0; i < Math.min(200, n); i++) {
      await once(baseline);
      await once(checked);
    }
    const base: number[] = [];
    const full: number[] = [];
    for (let i = 0; i < n; i++) {
      // Alternate which goes first, so neither always meets a warmer connection.
      if (i % 2) {
        base.push(await once(baseline));
        full.push(await once(checked));
      } else {
        full.push(await once(checked));
        base.push(await once(baseline));
      }
    }
    const b = summarize(base);
    const f = summarize(full);
    const added = f.p50 - b.p50;
    return [
      {
        name: 'Permission and request-limit checks, added per signed-in request (p50, in process, real Redis)',
        keel: `${round(f.p50, 3)} ms (p90 ${round(f.p90, 3)})`,
        baseline: `${round(b.p50, 3)} ms, authentication alone (p90 ${round(b.p90, 3)})`,
        ratio: `+${round(added, 3)} ms`,
        target: `≤ ${TARGET_MS} ms added`,
        pass: added <= TARGET_MS,
      },
    ];
  } finally {
    await t.close();
  }
}
