import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { type InputEntries, InputHub } from '../../runners/src/terminal/input-hub.ts';
import { testInfra } from '../harness/infra.ts';

/** Collects what the hub delivers for one key, and waits for a count of entries. */
function collector() {
  const got: string[] = [];
  let waiter: { n: number; resolve(): void } | undefined;
  return {
    got,
    onEntries(entries: InputEntries) {
      for (const [, fields] of entries) got.push(fields[1]!);
      if (waiter && got.length >= waiter.n) waiter.resolve();
    },
    until(n: number, ms = 3_000): Promise<void> {
      if (got.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${got.length} of ${n} entries after ${ms} ms`)), ms);
        waiter = {
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    },
  };
}

describe('InputHub (real Redis): one read for every session', async () => {
  const redis = new Redis((await testInfra()).redisUrl);
  const base = `test:hub:${process.pid}:${Date.now()}`;
  after(() => redis.disconnect());

  test('each stream gets its own entries in order, from its start; one that joins while the read waits is read at once', async () => {
    const hub = new InputHub(redis, `${base}:bell`);
    try {
      const a = collector();
      const b = collector();
      await redis.xadd(`${base}:a`, '*', 'd', 'a0');
      hub.follow(`${base}:a`, a.onEntries);
      await a.until(1);
      // The read now waits (10 s) on a and the bell only: b's entries must wake it.
      await new Promise((r) => setTimeout(r, 100));
      await redis.xadd(`${base}:b`, '*', 'd', 'b0');
      const joined = performance.now();
      hub.follow(`${base}:b`, b.onEntries);
      await b.until(1, 1_000);
      assert.ok(performance.now() - joined < 1_000);
      for (let i = 1; i <= 50; i++) {
        await Promise.all([
          redis.xadd(`${base}:a`, '*', 'd', `a${i}`),
          redis.xadd(`${base}:b`, '*', 'd', `b${i}`),
        ]);
      }
      await Promise.all([a.until(51), b.until(51)]);
      assert.deepEqual(
        a.got,
        Array.from({ length: 51 }, (_, i) => `a${i}`),
      );
      assert.deepEqual(
        b.got,
        Array.from({ length: 51 }, (_, i) => `b${i}`),
      );
    } finally {
      hub.close();
    }
  });

  test('a stream no longer followed gets nothing more; the others go on', async () => {
    const hub = new InputHub(redis, `${base}:bell2`);
    try {
      const a = collector();
      const b = collector();
      const stopA = hub.follow(`${base}:c`, a.onEntries);
      hub.follow(`${base}:d`, b.onEntries);
      await redis.xadd(`${base}:c`, '*', 'd', 'c0');
      await a.until(1);
      stopA();
      await redis.xadd(`${base}:c`, '*', 'd', 'c1');
      await redis.xadd(`${base}:d`, '*', 'd', 'd0');
      await b.until(1);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(a.got, ['c0']);
      assert.deepEqual(b.got, ['d0']);
    } finally {
      hub.close();
    }
  });
});
