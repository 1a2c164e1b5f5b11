import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectRedis } from '../../edge/src/services/redis.ts';
import { socketWriter } from '../../edge/src/services/socket-writer.ts';
import { testInfra } from '../harness/infra.ts';

describe("a socket's Redis writer (real Redis)", () => {
  test('the shared connection serves every socket and outlives them; a failed last write is no crash', async () => {
    const url = (await testInfra()).redisUrl;
    const shared = connectRedis(url);
    const rejections: unknown[] = [];
    const onRejection = (err: unknown) => rejections.push(err);
    process.on('unhandledRejection', onRejection);
    try {
      const a = socketWriter(shared, url);
      const b = socketWriter(shared, url);
      assert.equal(a.redis, shared);
      assert.equal(b.redis, shared);
      a.release(Promise.reject(new Error('Redis went away')));
      b.release(shared.ping());
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(await shared.ping(), 'PONG');
      assert.deepEqual(rejections, []);
    } finally {
      process.off('unhandledRejection', onRejection);
      shared.disconnect();
    }
  });

  test('without one, a socket has a connection of its own, closed once its last write settled', async () => {
    const url = (await testInfra()).redisUrl;
    const own = socketWriter(undefined, url);
    assert.equal(await own.redis.ping(), 'PONG');
    let settle!: () => void;
    const last = new Promise<void>((r) => {
      settle = r;
    });
    own.release(last);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(own.redis.status, 'ready', 'still open while the last write is in flight');
    settle();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(own.redis.status, 'end');
  });
});
