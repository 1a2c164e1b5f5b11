import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redisArgs, redisUrlWithLogin } from '@keel/contract/redis-url';
import { parseEdgeEnv } from '../../edge/src/env.ts';
import { isStoreUnavailable } from '../../edge/src/http/store-unavailable.ts';

describe('REDIS_URL', () => {
  test('a plain URL goes to ioredis as it is', () => {
    assert.deepEqual(redisArgs('redis://u:p@127.0.0.1:6379/2', { lazyConnect: true }), [
      'redis://u:p@127.0.0.1:6379/2',
      { lazyConnect: true },
    ]);
  });

  test('a sentinel URL names the sentinels, the primary, its login and the sentinels’ own', () => {
    const [options] = redisArgs(
      'rediss+sentinel://keel-edge:p%40ss@10.0.0.1:26379,[::1]:26380,s3/mymaster?sentinelPassword=sp',
      { maxRetriesPerRequest: 2 },
    ) as [Record<string, unknown>];
    assert.deepEqual(options.sentinels, [
      { host: '10.0.0.1', port: 26379 },
      { host: '::1', port: 26380 },
      { host: 's3', port: 26379 },
    ]);
    assert.equal(options.name, 'mymaster');
    assert.equal(options.username, 'keel-edge');
    assert.equal(options.password, 'p@ss');
    assert.equal(options.sentinelPassword, 'sp');
    assert.equal(options.enableTLSForSentinelMode, true);
    assert.equal(options.maxRetriesPerRequest, 2);
    const reconnect = options.reconnectOnError as (err: Error) => unknown;
    assert.equal(reconnect(new Error("READONLY You can't write against a read only replica.")), 2);
    assert.equal(reconnect(new Error('WRONGTYPE')), false);
  });

  test('a sentinel URL without a primary name or with a bad port is refused', () => {
    assert.throws(() => redisArgs('redis+sentinel://h:26379'), /sentinel URL/);
    assert.throws(() => redisArgs('redis+sentinel://h:0/m'), /no sentinel host:port/);
    assert.throws(
      () => parseEdgeEnv({ REDIS_URL: 'sentinel://h/m', KEEL_SECRET_KEY: 'x'.repeat(44) }),
      /REDIS_URL/,
    );
  });

  test('a runner’s own login replaces the one the URL carries, in both forms', () => {
    const login = { username: 'runner-1', password: 'a/b' };
    assert.equal(redisUrlWithLogin('redis://edge:x@h:1', login), 'redis://runner-1:a%2Fb@h:1');
    assert.equal(
      redisUrlWithLogin('redis+sentinel://edge:x@h:1,g:2/m', login),
      'redis+sentinel://runner-1:a%2Fb@h:1,g:2/m',
    );
    assert.equal(redisUrlWithLogin('redis+sentinel://h:1/m', login), 'redis+sentinel://runner-1:a%2Fb@h:1/m');
  });
});

describe('store unavailable', () => {
  test('connection failures of either store are told from other errors, through wrappers', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    assert.ok(isStoreUnavailable(new Error('Failed query: insert …', { cause: refused })));
    assert.ok(isStoreUnavailable(Object.assign(new Error('terminating connection'), { code: '57P01' })));
    const maxRetries = new Error('Reached the max retries per request limit (which is 2).');
    maxRetries.name = 'MaxRetriesPerRequestError';
    assert.ok(isStoreUnavailable(maxRetries));
    assert.ok(!isStoreUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' })));
    assert.ok(!isStoreUnavailable(new Error('WRONGTYPE Operation against a key')));
  });
});
