import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { AnswerStream } from '../../runners/src/ai/answer-stream.ts';
import { testInfra } from '../harness/infra.ts';

async function kinds(redis: Redis, key: string): Promise<Array<[string, string]>> {
  const rows = (await redis.xrange(key, '-', '+')) as Array<[string, string[]]>;
  return rows.map(([, f]) => [f[1]!, f[3]!]);
}

describe('AnswerStream bounds (real Redis)', () => {
  test('text past the byte bound is refused, the stream keeps what came before, and done is last', async () => {
    const redis = new Redis((await testInfra()).redisUrl);
    const key = `test:ai:${process.pid}:${Date.now()}:bytes`;
    try {
      const out = new AnswerStream(redis, key, 1000);
      let accepted = 0;
      for (let i = 0; i < 100; i++) if (out.token('0123456789abcdef')) accepted++;
      assert.equal(accepted, 62, 'tokens up to 1000 bytes');
      assert.equal(out.full, true);
      assert.equal(out.token('x'), false, 'nothing more once full');
      await out.end(undefined, { outcome: 'failure', error: { code: 'too_large', message: 'cut' } });
      const got = await kinds(redis, key);
      const text = got
        .filter(([t]) => t === 'token')
        .map(([, d]) => d)
        .join('');
      assert.equal(text, '0123456789abcdef'.repeat(62));
      assert.equal(got.at(-1)![0], 'done');
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });

  test('token entries stop short of the entry cap, so meta is never trimmed', async () => {
    const redis = new Redis((await testInfra()).redisUrl);
    const key = `test:ai:${process.pid}:${Date.now()}:entries`;
    try {
      await redis.xadd(key, '*', 't', 'meta', 'd', '{}');
      const out = new AnswerStream(redis, key, 1 << 20, 5);
      // One token per write: each waits for the last to be stored.
      for (let i = 0; i < 20; i++) {
        out.token(`t${i} `);
        await new Promise((r) => setTimeout(r, 5));
      }
      await out.end(undefined, { outcome: 'success' });
      const got = await kinds(redis, key);
      assert.equal(got[0]![0], 'meta');
      assert.equal(got.filter(([t]) => t === 'token').length, 5);
      assert.equal(out.full, true);
      assert.equal(got.at(-1)![0], 'done');
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });
});
