/*
 * Reads kept in memory while Redis says they stand (services/tracked-reads.ts: client-side
 * caching with CLIENT TRACKING), against real Redis.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { TrackedReads } from '../../edge/src/services/tracked-reads.ts';
import { testInfra } from '../harness/infra.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads `keys` until an answer comes from memory (tracking is set up); that answer. */
async function untilFromMemory(reads: TrackedReads, keys: string[]): Promise<Array<string | null>> {
  for (let i = 0; i < 200; i++) {
    const before = reads.fromMemory;
    const values = await reads.mget(keys);
    if (reads.fromMemory > before) return values;
    await sleep(10);
  }
  throw new Error('reads never came from memory');
}

/**
 * Reads `keys` until they answer `expected`, within half a second (a loaded machine): another process's write is told on a
 * socket of its own, which may be read a moment after the writer's answer.
 */
async function told(
  reads: TrackedReads,
  keys: string[],
  expected: Array<string | null>,
  what: string,
  withinMs = 500,
) {
  const until = Date.now() + withinMs;
  for (;;) {
    const values = await reads.mget(keys);
    if (JSON.stringify(values) === JSON.stringify(expected)) return;
    if (Date.now() > until) assert.deepEqual(values, expected, what);
    await sleep(1);
  }
}

/** The read connections' ids, from CLIENT LIST: the listener is the one subscribed. */
async function connections(redis: Redis, name: string) {
  const list = (await redis.client('LIST')) as string;
  return list
    .split('\n')
    .filter((l) => l.includes(`name=${name}`))
    .map((l) => ({ id: /\bid=(\d+)/.exec(l)![1]!, subscribed: /\bsub=1\b/.test(l) }));
}

describe('reads kept in memory while Redis says they stand (real Redis, CLIENT TRACKING)', () => {
  let url: string;
  let writer: Redis;
  before(async () => {
    url = (await testInfra()).redisUrl;
    writer = new Redis(url);
  });
  after(() => writer.disconnect());

  const base = () => `test:tracked:${Date.now()}:${Math.random()}:`;

  test('a read is kept; a write, a delete or an expiry by anyone is seen on the next read', async () => {
    const reads = new TrackedReads(url);
    const k = base();
    try {
      await writer.set(`${k}a`, '1');
      assert.deepEqual(await reads.mget([`${k}a`, `${k}missing`]), ['1', null]);
      assert.deepEqual(await untilFromMemory(reads, [`${k}a`, `${k}missing`]), ['1', null]);
      const redisReads = reads.fromRedis;
      for (let i = 0; i < 50; i++) await reads.mget([`${k}a`, `${k}missing`]);
      assert.equal(reads.fromRedis, redisReads, 'fifty reads, none sent to Redis');

      await writer.set(`${k}a`, '2');
      await told(reads, [`${k}a`, `${k}missing`], ['2', null], 'a write');
      await writer.set(`${k}missing`, 'now');
      await told(reads, [`${k}a`, `${k}missing`], ['2', 'now'], 'a key made');
      await untilFromMemory(reads, [`${k}a`]);
      await writer.del(`${k}a`);
      await told(reads, [`${k}a`], [null], 'a delete');
      // A writer in this process forgets what it wrote: the next read is right at once.
      await untilFromMemory(reads, [`${k}a`]);
      await writer.set(`${k}a`, 'mine');
      reads.forget([`${k}a`]);
      assert.deepEqual(await reads.mget([`${k}a`]), ['mine'], 'a write of this process');
      await writer.set(`${k}a`, 'short', 'PX', 1000);
      assert.deepEqual(await untilFromMemory(reads, [`${k}a`]), ['short']);
      await sleep(1000);
      // Redis expires keys in the background too (sampling them); the notice then comes without any read.
      await told(reads, [`${k}a`], [null], 'an expiry', 5000);
    } finally {
      await reads.close();
    }
  });

  test('a read in flight while its key changes is not kept (200 rounds, writes racing reads)', async () => {
    const reads = new TrackedReads(url);
    const k = `${base()}race`;
    try {
      await writer.set(k, '0');
      await untilFromMemory(reads, [k]);
      for (let i = 1; i <= 200; i++) {
        // A read in flight while the write happens: its answer may be old, but must not be kept.
        // A key never read before sends the read to Redis, with `k` in it.
        const inFlight = reads.mget([k, `${k}:${i}`]);
        await writer.set(k, String(i));
        await inFlight;
        await told(reads, [k], [String(i)], `round ${i}`);
        // Kept, it stays right: a stale answer kept would never be told again.
        await sleep(2);
        assert.deepEqual(await reads.mget([k]), [String(i)], `round ${i}, later`);
      }
      assert.ok(reads.fromMemory > 0);
    } finally {
      await reads.close();
    }
  });

  test('a lost connection empties memory; tracking comes back on the new connections, redirected to the new listener', async () => {
    const name = `tracked${Date.now()}`;
    const reads = new TrackedReads(url, name);
    const k = base();
    try {
      await writer.set(`${k}a`, '1');
      await reads.mget([`${k}a`]);
      await untilFromMemory(reads, [`${k}a`]);
      for (const which of ['listener', 'reader'] as const) {
        const before = await connections(writer, name);
        assert.equal(before.length, 2, JSON.stringify(before));
        const victim = before.find((c) => c.subscribed === (which === 'listener'))!;
        await writer.client('KILL', 'ID', victim.id);
        await sleep(50);
        // Memory was emptied: a change made while the connection was down is read.
        await writer.set(`${k}a`, `after ${which}`);
        await told(reads, [`${k}a`], [`after ${which}`], `after ${which}`);
        await untilFromMemory(reads, [`${k}a`]);
        const now = await connections(writer, name);
        assert.ok(!now.some((c) => c.id === victim.id), 'reconnected');
        // And changes are told again, through the new listener.
        await writer.set(`${k}a`, `told after ${which}`);
        await told(reads, [`${k}a`], [`told after ${which}`], `told after ${which}`);
      }
    } finally {
      await reads.close();
    }
  });
});
