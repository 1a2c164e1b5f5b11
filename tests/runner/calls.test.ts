/*
 * Request/response calls between the edge's JobProducer and the runner's CallConsumer,
 * on real Redis, without the rest of either side.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { callId } from '@keel/contract/calls';
import { callListKey, callReplyKey, runnerKeys } from '@keel/contract/keys';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { Redis } from 'ioredis';
import { JobProducer } from '../../edge/src/services/queue.ts';
import { CallConsumer } from '../../runners/src/call-consumer.ts';
import { testInfra } from '../harness/infra.ts';

const NOOP = { v: CONTRACT_VERSION, type: 'noop' } as const;

async function setup(handle: (job: unknown) => Promise<unknown>, expired: unknown[] = []) {
  const url = (await testInfra()).redisUrl;
  const prefix = `tc${process.hrtime.bigint()}:`;
  const runnerId = 'rnr_callsaaaaaaaaaaaaaaa';
  const base = runnerKeys(prefix, runnerId).base;
  const edge = new Redis(url, { maxRetriesPerRequest: null });
  const runner = new Redis(url, { maxRetriesPerRequest: null });
  const blocking = new Redis(url, { maxRetriesPerRequest: null });
  const producer = new JobProducer(() => edge, prefix);
  const handled: unknown[] = [];
  const consumer = new CallConsumer(
    runner,
    blocking,
    base,
    4,
    async (job) => {
      handled.push(job);
      return { ok: true, result: await handle(job) };
    },
    () => {},
    async (job) => {
      expired.push(job);
    },
  );
  return {
    base,
    edge,
    producer,
    consumer,
    handled,
    queue: `runner.${runnerId}`,
    async close() {
      await consumer.stop(1_000);
      await producer.close();
      for (const r of [edge, runner, blocking]) r.disconnect();
    },
  };
}

describe('calls (real Redis)', () => {
  test('a call reaches the runner and its answer comes back', async () => {
    const s = await setup(async () => ({ pong: true }));
    try {
      s.consumer.start();
      assert.deepEqual(await s.producer.call(s.queue, NOOP, 5_000), { ok: true, result: { pong: true } });
      const many = await Promise.all(Array.from({ length: 20 }, () => s.producer.call(s.queue, NOOP, 5_000)));
      assert.equal(many.length, 20);
      assert.equal(s.handled.length, 21);
    } finally {
      await s.close();
    }
  });

  test('a runner that throws fails the call; one that never answers times it out', async () => {
    const s = await setup(async () => {
      throw new Error('disk on fire');
    });
    try {
      s.consumer.start();
      await assert.rejects(s.producer.call(s.queue, NOOP, 5_000), /disk on fire/);
    } finally {
      await s.close();
    }
    const idle = await setup(async () => ({}));
    try {
      await assert.rejects(idle.producer.call(idle.queue, NOOP, 300), /no answer/);
    } finally {
      await idle.close();
    }
  });

  test('a call whose caller gave up is dropped, not run late', async () => {
    const s = await setup(async () => ({}));
    try {
      await assert.rejects(s.producer.call(s.queue, NOOP, 200), /no answer/);
      s.consumer.start();
      // A later call is answered; the expired one before it never ran.
      await s.producer.call(s.queue, NOOP, 5_000);
      assert.equal(s.handled.length, 1);
    } finally {
      await s.close();
    }
  });

  test('a one-way call leaves with the caller’s own writes and runs without an answer', async () => {
    const s = await setup(async () => ({ started: true }));
    try {
      s.consumer.start();
      const mark = `${s.base}mark`;
      await s.producer.oneWay(s.edge.multi().set(mark, '1'), s.queue, NOOP, 5_000).exec();
      for (let i = 0; i < 100 && s.handled.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(s.handled, [NOOP]);
      assert.equal(await s.edge.get(mark), '1', 'the caller’s own command ran in the same transaction');
      // Nothing is published or kept for a caller that does not wait.
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(await s.edge.keys(`${s.base}reply:*`), []);
    } finally {
      await s.close();
    }
  });

  test('a one-way call taken after its deadline does not run; the expired handler hears of it', async () => {
    const expired: unknown[] = [];
    const s = await setup(async () => ({}), expired);
    try {
      await s.producer.oneWay(s.edge.multi(), s.queue, NOOP, 50).exec();
      await new Promise((r) => setTimeout(r, 120));
      s.consumer.start();
      await s.producer.call(s.queue, NOOP, 5_000);
      assert.equal(s.handled.length, 1, 'only the later request/response call ran');
      assert.deepEqual(expired, [NOOP]);
    } finally {
      await s.close();
    }
  });

  test('a short call pushed after a long one never cuts the list’s expiry short', async () => {
    const s = await setup(async () => ({}));
    try {
      await s.producer.oneWay(s.edge.multi(), s.queue, NOOP, 30_000).exec();
      const long = await s.edge.pttl(callListKey(s.base));
      await assert.rejects(s.producer.call(s.queue, NOOP, 200), /no answer/);
      const after = await s.edge.pttl(callListKey(s.base));
      assert.ok(after > long - 1_000, `the list expires in ${after} ms, no sooner than the long call needs`);
    } finally {
      await s.close();
    }
  });

  test('an answer nobody heard is kept, and the waiting edge finds it', async () => {
    const s = await setup(async () => ({ late: true }));
    try {
      // The runner's side: no subscriber on the channel, so the answer goes to a key.
      const id = callId('zzzzzzzzzzzz', 1);
      await s.edge.rpush(
        callListKey(s.base),
        JSON.stringify({ id, deadline: Date.now() + 5_000, job: NOOP }),
      );
      s.consumer.start();
      const key = callReplyKey(s.base, id);
      for (let i = 0; i < 50 && !(await s.edge.exists(key)); i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(JSON.parse((await s.edge.get(key))!), {
        id,
        outcome: { ok: true, result: { late: true } },
      });
      assert.ok((await s.edge.pttl(key)) > 0, 'it expires');
      await s.consumer.stop(1_000);

      // The edge's side: an answer that arrives only as a key still completes the call.
      const pending = s.producer.call(s.queue, NOOP, 5_000);
      const [raw] = await waitForList(s.edge, callListKey(s.base));
      const request = JSON.parse(raw!);
      await s.edge.set(
        callReplyKey(s.base, request.id),
        JSON.stringify({ id: request.id, outcome: { ok: true, result: 7 } }),
      );
      assert.deepEqual(await pending, { ok: true, result: 7 });
    } finally {
      await s.close();
    }
  });
});

async function waitForList(redis: Redis, key: string): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    const items = await redis.lpop(key, 10);
    if (items?.length) return items;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`nothing arrived in ${key}`);
}
