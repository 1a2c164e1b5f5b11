import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { hitRateLimit, rateWindowKey } from '../../edge/src/services/rate-limit.ts';
import { tcpCommands } from '../../edge/src/services/request-redis.ts';
import { testInfra } from '../harness/infra.ts';
import { withinOneRateWindow } from '../harness/rate-window.ts';

describe('fixed-window rate limit (real Redis)', () => {
  let redis: Redis;
  before(async () => {
    redis = new Redis((await testInfra()).redisUrl);
  });
  after(() => redis.disconnect());

  test('counts hits in the window, refuses past the limit, and sets the expiry once', async () => {
    const key = `test:rl:${Date.now()}:${Math.random()}`;
    const window = 60;
    await withinOneRateWindow(5, window);
    assert.deepEqual(
      await hitRateLimit(
        tcpCommands(() => redis),
        key,
        2,
        window,
      ),
      { allowed: true, retryAfterSeconds: 0 },
    );
    const redisKey = rateWindowKey(key, window);
    const ttl = await redis.ttl(redisKey);
    assert.ok(ttl > 0 && ttl <= window, `the window expires (${ttl} s)`);
    // A later hit leaves the expiry where the first one put it.
    await redis.expire(redisKey, 30);
    assert.equal(
      (
        await hitRateLimit(
          tcpCommands(() => redis),
          key,
          2,
          window,
        )
      ).allowed,
      true,
    );
    assert.ok((await redis.ttl(redisKey)) <= 30, 'not moved later by a hit');
    const refused = await hitRateLimit(
      tcpCommands(() => redis),
      key,
      2,
      window,
    );
    assert.equal(refused.allowed, false);
    assert.ok(refused.retryAfterSeconds > 0 && refused.retryAfterSeconds <= window);
    await redis.del(redisKey);
  });
});
