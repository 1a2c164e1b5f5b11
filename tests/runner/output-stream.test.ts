import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { OutputStream } from '../../runners/src/output-stream.ts';
import { completeLength } from '../../runners/src/streams/appender.ts';
import { testInfra } from '../harness/infra.ts';

async function entries(redis: Redis, key: string): Promise<Array<{ t: string; d: Buffer }>> {
  const rows = (await redis.xrangeBuffer(key, '-', '+')) as Array<[Buffer, Buffer[]]>;
  return rows.map(([, f]) => ({ t: f[1]!.toString(), d: f[3]! }));
}

describe('OutputStream (real Redis)', () => {
  test('keeps bytes and order, cuts entries only between characters, and ends with the exit', async () => {
    const redis = new Redis((await testInfra()).redisUrl);
    const key = `test:out:${process.pid}:${Date.now()}`;
    try {
      const out = new OutputStream(redis, key);
      // Every kind of UTF-8 sequence, cut into chunks at every possible offset.
      const text = 'aé€😀\n'.repeat(20_000);
      const bytes = Buffer.from(text);
      let at = 0;
      for (let n = 1; at < bytes.length; n = (n % 7) + 1) {
        out.write('stdout', bytes.subarray(at, at + n));
        at += n;
        if (at % 3 === 0) await new Promise((r) => setImmediate(r));
      }
      out.write('stderr', Buffer.from('warning\n'));
      await out.end({ exitCode: 0 });
      const got = await entries(redis, key);
      assert.equal(got.at(-1)?.t, 'exit');
      assert.deepEqual(JSON.parse(got.at(-1)!.d.toString()), { exitCode: 0 });
      const stdout = got.filter((e) => e.t === 'stdout');
      for (const e of stdout) {
        assert.ok(isUtf8(e.d), 'every entry is valid UTF-8 by itself');
        assert.ok(e.d.length <= 256 * 1024);
      }
      assert.equal(Buffer.concat(stdout.map((e) => e.d)).toString(), text);
      assert.deepEqual(
        got.filter((e) => e.t === 'stderr').map((e) => e.d.toString()),
        ['warning\n'],
      );
      assert.ok((await redis.ttl(key)) > 0, 'the stream expires');
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });

  test('output that arrives while a write is in flight is merged into large entries', async () => {
    const redis = new Redis((await testInfra()).redisUrl);
    const key = `test:out:${process.pid}:${Date.now()}:merge`;
    try {
      const out = new OutputStream(redis, key);
      for (let i = 0; i < 10_000; i++) out.write('stdout', Buffer.from(`line ${i}\n`));
      await out.end({ exitCode: 0 });
      const got = await entries(redis, key);
      assert.equal(got.length, 2, 'one entry of output (89 KB), then the exit');
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });

  test('bytes that are not UTF-8 become U+FFFD, as a text decoder makes them', async () => {
    const redis = new Redis((await testInfra()).redisUrl);
    const key = `test:out:${process.pid}:${Date.now()}:bad`;
    try {
      const out = new OutputStream(redis, key);
      const raw = Buffer.from([0x61, 0xff, 0x62, 0xe2, 0x82]); // a, invalid, b, then a cut-off €
      out.write('stdout', raw);
      await out.end({ exitCode: 1 });
      const got = await entries(redis, key);
      const data = Buffer.concat(got.filter((e) => e.t === 'stdout').map((e) => e.d));
      assert.equal(data.toString(), new TextDecoder().decode(raw));
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });
});

describe('completeLength', () => {
  test('holds back only a sequence cut at the end', () => {
    const euro = Buffer.from('€'); // e2 82 ac
    assert.equal(completeLength(Buffer.from('ab')), 2);
    assert.equal(completeLength(euro), 3);
    assert.equal(completeLength(euro.subarray(0, 2)), 0);
    assert.equal(completeLength(Buffer.concat([Buffer.from('x'), euro.subarray(0, 1)])), 1);
    assert.equal(completeLength(Buffer.from('😀').subarray(0, 3)), 0);
    assert.equal(
      completeLength(Buffer.from([0x61, 0x80])),
      2,
      'a stray continuation byte is left to the check',
    );
  });
});
