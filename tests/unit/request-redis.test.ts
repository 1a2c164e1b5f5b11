/*
 * The request path's commands answer the same over TCP (ioredis) and over HTTP (@upstash/redis
 * against the Upstash REST stand-in in front of the same real Redis): a value, a nil, a count, a
 * pipeline with an error in its place, a transaction, a script by its digest once Redis lost it,
 * and the rate limiters built on them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { countersHit, hitRateLimit, sendCountersHit } from '../../edge/src/services/rate-limit.ts';
import {
  luaScript,
  type RequestRedis,
  runScript,
  tcpCommands,
} from '../../edge/src/services/request-redis.ts';
import { upstashCommands } from '../../edge/src/services/upstash-redis.ts';
import { testInfra } from '../harness/infra.ts';
import { startUpstashRestStandin, type UpstashRestStandin } from '../harness/upstash-rest-standin.ts';

describe('request commands over TCP and over the Upstash REST stand-in', () => {
  let redis: Redis;
  let standin: UpstashRestStandin;
  let ways: Array<[string, RequestRedis]>;
  before(async () => {
    const { redisUrl } = await testInfra();
    redis = new Redis(redisUrl);
    standin = await startUpstashRestStandin(redisUrl, 'standin-token');
    ways = [
      ['tcp', tcpCommands(() => redis)],
      ['http', upstashCommands(standin.url, standin.token)],
    ];
  });
  after(async () => {
    redis.disconnect();
    await standin.stop();
  });

  test('each command reads the same either way', async () => {
    const key = `test:rr:${process.pid}:${Date.now()}`;
    // Text that JSON or base64 could bend: non-ASCII, a number-looking string, a literal OK.
    await redis.mset(`${key}:a`, 'ünïcode ✓ "quoted"', `${key}:n`, '0042', `${key}:ok`, 'OK');
    const answers: Record<string, unknown[]> = {};
    for (const [via, commands] of ways) {
      assert.equal(commands.via, via);
      answers[via] = [
        await commands.send(['GET', `${key}:a`]),
        await commands.send(['GET', `${key}:n`]),
        await commands.send(['GET', `${key}:ok`]),
        await commands.send(['MGET', `${key}:a`, `${key}:missing`, `${key}:ok`]),
        await commands.send(['SET', `${key}:${via}`, 'x', 'EX', 60, 'NX']),
        await commands.send(['SET', `${key}:${via}`, 'y', 'EX', 60, 'NX']),
        await commands.send(['INCR', `${key}:count:${via}`]),
        await commands.send(['PING']),
        (
          await commands.pipeline([
            ['GET', `${key}:n`],
            ['INCR', `${key}:a`],
            ['EXISTS', `${key}:a`],
          ])
        ).map((a) => (a instanceof Error ? `error: ${a.message}` : a)),
        await commands.transaction([
          ['INCR', `${key}:tx:${via}`],
          ['EXPIRE', `${key}:tx:${via}`, 60, 'NX'],
          ['TTL', `${key}:tx:${via}`],
        ]),
        await commands.send(['EVAL', 'return {KEYS[1], ARGV[1], 7}', 1, 'k', 'v']),
      ];
      await assert.rejects(commands.send(['INCR', `${key}:a`]), /not an integer/);
      await assert.rejects(commands.transaction([['INCR', `${key}:a`]]), /not an integer/);
    }
    assert.deepEqual(answers.http, answers.tcp);
    assert.deepEqual(answers.tcp?.slice(0, 8), [
      'ünïcode ✓ "quoted"',
      '0042',
      'OK',
      ['ünïcode ✓ "quoted"', null, 'OK'],
      'OK',
      null,
      1,
      'PONG',
    ]);
  });

  test('a script runs by its digest, and is sent whole once Redis lost it', async () => {
    const script = luaScript(`return 'sum ' .. (tonumber(ARGV[1]) + ${process.pid})`);
    for (const [, commands] of ways) {
      await redis.script('FLUSH');
      const before = standin.commands.length;
      assert.equal(await runScript(commands, script, [], [1]), `sum ${process.pid + 1}`);
      assert.equal(await runScript(commands, script, [], [2]), `sum ${process.pid + 2}`);
      if (commands.via === 'http')
        assert.deepEqual(
          standin.commands.slice(before),
          ['EVALSHA', 'EVAL', 'EVALSHA'],
          'EVAL once, then by digest',
        );
    }
  });

  test('the request limiters count the same over HTTP', async () => {
    const [, http] = ways[1]!;
    const key = `test:rr-limit:${process.pid}:${Date.now()}`;
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push((await hitRateLimit(http, key, 2, 60)).allowed);
    assert.deepEqual(decisions, [true, true, false]);
    const hit = countersHit([{ key: `${key}:c`, limit: 1, field: 'ip' }], 60, () => ({
      key: `${key}:refusals`,
      keepSeconds: 60,
    }));
    assert.equal(hit.decide(await sendCountersHit(http, hit)).refused, -1);
    const again = countersHit([{ key: `${key}:c`, limit: 1, field: 'ip' }], 60, () => ({
      key: `${key}:refusals`,
      keepSeconds: 60,
    }));
    assert.equal(again.decide(await sendCountersHit(http, again)).refused, 0);
    assert.deepEqual(await redis.hgetall(`${key}:refusals`), { ip: '1' });
  });

  test('the stand-in refuses a wrong token and commands Upstash does not serve over REST', async () => {
    const wrong = upstashCommands(standin.url, 'not-the-token');
    await assert.rejects(wrong.send(['PING']), /Unauthorized/);
    const [, http] = ways[1]!;
    await assert.rejects(http.send(['SUBSCRIBE', 'x']), /not supported over REST/);
  });
});
