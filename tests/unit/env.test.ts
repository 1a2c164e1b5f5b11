import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseEdgeEnv } from '../../edge/src/env.ts';

const good = { REDIS_URL: 'redis://127.0.0.1:6379', KEEL_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') };

describe('edge configuration', () => {
  test('defaults', () => {
    const c = parseEdgeEnv(good);
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.accessTokenTtlSeconds, 900);
    assert.equal(c.openSignup, false);
    assert.equal(c.secretKeys.sealing.length, 32);
    assert.equal(c.issuer, 'keel');
  });

  test('Upstash for the request path: both its URL and token, or neither', () => {
    assert.equal(parseEdgeEnv(good).upstash, undefined);
    const url = 'https://eu1-keel.upstash.io';
    assert.deepEqual(
      parseEdgeEnv({ ...good, UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: 't0ken' }).upstash,
      { url, token: 't0ken' },
    );
    assert.throws(() => parseEdgeEnv({ ...good, UPSTASH_REDIS_REST_URL: url }), /set together/);
    assert.throws(() => parseEdgeEnv({ ...good, UPSTASH_REDIS_REST_TOKEN: 't0ken' }), /set together/);
    assert.throws(
      () => parseEdgeEnv({ ...good, UPSTASH_REDIS_REST_URL: 'redis://x', UPSTASH_REDIS_REST_TOKEN: 't' }),
      /UPSTASH_REDIS_REST_URL/,
    );
  });

  test('a bad configuration names every bad variable and no secret value', () => {
    const secret = 'dG9vLXNob3J0';
    try {
      parseEdgeEnv({ REDIS_URL: 'http://x', KEEL_SECRET_KEY: secret, KEEL_ACCESS_TOKEN_TTL_SECONDS: '3600' });
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /REDIS_URL/);
      assert.match(err.message, /KEEL_SECRET_KEY/);
      assert.match(err.message, /KEEL_ACCESS_TOKEN_TTL_SECONDS/);
      assert.equal(err.message.includes(secret), false);
    }
    assert.throws(() => parseEdgeEnv({ ...good, DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
  });
});
