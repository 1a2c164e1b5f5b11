/*
 * Request counts leased ahead by each edge (services/request-leases.ts), against real Redis,
 * with up to three edges counting one address.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { countersHit, sendCountersHit } from '../../edge/src/services/rate-limit.ts';
import { LEASE_FRACTION, RequestLeases } from '../../edge/src/services/request-leases.ts';
import { tcpCommands } from '../../edge/src/services/request-redis.ts';
import { testInfra } from '../harness/infra.ts';
import { withinOneRateWindow } from '../harness/rate-window.ts';

const WINDOW = 60;

describe('request counts leased ahead far from their limits (real Redis)', () => {
  let redis: Redis;
  before(async () => {
    redis = new Redis((await testInfra()).redisUrl);
  });
  after(() => redis.disconnect());

  const base = () => `test:leases:${Date.now()}:${Math.random()}`;
  const windowKey = (key: string) => `${key}:${Math.floor(Date.now() / 1000 / WINDOW)}`;

  /** One request counted as the middleware counts it (one counter per key); whether it was let through, and where. */
  async function count(
    leases: RequestLeases | undefined,
    keys: string[],
    limits: number[],
    refusals: string,
  ) {
    const hit = countersHit(
      keys.map((key, i) => ({ key, limit: limits[i]!, field: i === 0 ? 'ip' : 'person' })),
      WINDOW,
      () => ({ key: refusals, keepSeconds: 60 }),
      leases,
    );
    const decision =
      hit.local ??
      hit.decide(
        await sendCountersHit(
          tcpCommands(() => redis),
          hit,
        ),
      );
    return { ok: decision.refused < 0, local: hit.local !== undefined };
  }

  test('a count far from its limit leases 1/64 of it; the next requests use the lease without Redis', async () => {
    await withinOneRateWindow(5, WINDOW);
    const leases = new RequestLeases();
    const key = base();
    const refusals = `${key}:refused`;
    assert.deepEqual(await count(leases, [key], [6400], refusals), { ok: true, local: false });
    assert.equal(
      await redis.get(windowKey(key)),
      String(1 + 6400 / LEASE_FRACTION),
      'the lease is counted in Redis',
    );
    for (let i = 0; i < 100; i++)
      assert.deepEqual(await count(leases, [key], [6400], refusals), { ok: true, local: true });
    assert.deepEqual(
      await count(leases, [key], [6400], refusals),
      { ok: true, local: false },
      'a spent lease goes to Redis',
    );
    assert.equal(await redis.get(windowKey(key)), String(2 + 2 * 100));
    const ttl = await redis.ttl(windowKey(key));
    assert.ok(ttl > 0 && ttl <= WINDOW, `the window's key expires (${ttl} s)`);
  });

  test('leases held for later requests count as take does: spent, they take nothing; granted more, they count again', async () => {
    await withinOneRateWindow(5, WINDOW);
    const leases = new RequestLeases();
    const [a, b] = [base(), base()];
    const refusals = `${a}:refused`;
    // Leases of 100 (a) and 200 (b), the first request counted in Redis.
    assert.deepEqual(await count(leases, [a, b], [6400, 12800], refusals), { ok: true, local: false });
    assert.equal(leases.held([windowKey(a), windowKey(base())]), undefined, 'a counter with no lease');
    const held = leases.held([windowKey(a), windowKey(b)]);
    assert.ok(held);
    for (let i = 2; i <= 101; i++) assert.deepEqual(leases.takeHeld(held), [i, i]);
    assert.equal(leases.takeHeld(held), undefined, "a's lease is spent");
    assert.deepEqual(leases.take([windowKey(b)]), [102], "b's lease lost nothing to the refusal");
    // Counted in Redis (102 and 202), with new leases added to the ones held.
    assert.deepEqual(await count(leases, [a, b], [6400, 12800], refusals), { ok: true, local: false });
    assert.deepEqual(leases.takeHeld(held), [103, 203]);
  });

  test('a small limit gets no lease: every count goes to Redis and the limit holds exactly', async () => {
    await withinOneRateWindow(5, WINDOW);
    const leases = new RequestLeases();
    const key = base();
    const results = [];
    for (let i = 0; i < 10; i++) results.push(await count(leases, [key], [8], `${key}:refused`));
    assert.deepEqual(
      results.map((r) => r.ok),
      [true, true, true, true, true, true, true, true, false, false],
    );
    assert.ok(results.every((r) => !r.local));
    assert.equal(await redis.hget(`${key}:refused`, 'ip'), '2', 'each refusal counted');
    // One small counter among large ones: no lease for any of them.
    const wide = base();
    await count(leases, [wide, `${wide}:p`], [1_000_000, 8], `${wide}:refused`);
    assert.equal((await count(leases, [wide, `${wide}:p`], [1_000_000, 8], `${wide}:refused`)).local, false);
    assert.equal(await redis.get(windowKey(wide)), '2');
  });

  test('no lease is granted past half the limit, nor with a refusal', async () => {
    await withinOneRateWindow(5, WINDOW);
    const leases = new RequestLeases();
    const key = base();
    await redis.set(windowKey(key), String(6400 / 2 - 50), 'EX', WINDOW);
    assert.deepEqual(await count(leases, [key], [6400], `${key}:refused`), { ok: true, local: false });
    assert.equal((await count(leases, [key], [6400], `${key}:refused`)).local, false, 'no lease granted');
    assert.equal(await redis.get(windowKey(key)), String(6400 / 2 - 48));
  });

  test('three edges counting one address in bursts: never more than the limit let through', async () => {
    await withinOneRateWindow(15, WINDOW);
    const edges = [0, 1, 2].map(() => new RequestLeases());
    const key = base();
    const limit = 640;
    let allowed = 0;
    let local = 0;
    for (let i = 0; i < 1000; i++) {
      // Bursts of 7 on one edge, then the next.
      const r = await count(edges[Math.floor(i / 7) % edges.length], [key], [limit], `${key}:refused`);
      if (r.ok) allowed++;
      if (r.local) local++;
    }
    assert.ok(allowed <= limit, `${allowed} let through`);
    // What leases left unused is counted for nothing: at most one lease per edge.
    assert.ok(allowed >= limit - 3 * (limit / LEASE_FRACTION), `${allowed} let through`);
    assert.ok(local > 100, `${local} let through from leases`);
    // The same with a counter per person beside the address's: leases of both or of neither.
    const person = `${key}:person`;
    const fresh = [0, 1, 2].map(() => new RequestLeases());
    let both = 0;
    for (let i = 0; i < 400; i++) {
      const r = await count(fresh[i % 3], [`${key}:b`, person], [100_000, 256], `${key}:refused`);
      if (r.ok) both++;
    }
    assert.ok(both <= 256 && both >= 256 - 3 * (256 / LEASE_FRACTION), `${both} let through`);
  });

  test('Redis not answering lets the request through and grants nothing (workerd has no leases)', async () => {
    const leases = new RequestLeases();
    const key = base();
    const hit = countersHit(
      [{ key, limit: 6400, field: 'ip' }],
      WINDOW,
      () => ({ key: `${key}:r`, keepSeconds: 60 }),
      leases,
    );
    assert.equal(hit.decide(new Error('Connection is closed.')).refused, -1);
    assert.equal(leases.take([windowKey(key)]), undefined);
    assert.deepEqual(await count(undefined, [key], [6400], `${key}:r`), { ok: true, local: false });
    assert.deepEqual(await count(undefined, [key], [6400], `${key}:r`), { ok: true, local: false });
    assert.equal(await redis.get(windowKey(key)), '2', 'no lease without an edge to keep it');
  });
});
