import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { execOutputStream, streamKinds, terminalOutputStream } from '@keel/contract/streams';
import { Redis } from 'ioredis';
import { StreamAppender } from '../../runners/src/streams/appender.ts';
import { testInfra } from '../harness/infra.ts';

async function entries(redis: Redis, key: string): Promise<Array<[string, string]>> {
  const rows = (await redis.xrange(key, '-', '+')) as Array<[string, string[]]>;
  return rows.map(([, f]) => [f[1]!, f[3]!]);
}

describe('StreamAppender (real Redis)', () => {
  test('every kind is bounded in bytes and in entries', () => {
    for (const kind of streamKinds) {
      assert.ok(kind.maxBytes > 0 && Number.isFinite(kind.maxBytes), kind.name);
      assert.ok(kind.maxEntries > 0, kind.name);
      if (kind.bound === 'rolling') {
        const held = Math.min(
          kind.maxEntries * kind.entryBytes,
          (kind.windowBytes ?? Infinity) + kind.entryBytes,
        );
        assert.ok(kind.maxBytes >= held, kind.name);
      }
    }
  });

  test('bytes past a cut kind’s byte cap end the stream there: what came before stays, the final entry says so', async () => {
    const redis = new Redis((await testInfra()).redisUrl);
    const key = `test:append:${process.pid}:${Date.now()}:cap`;
    let stops = 0;
    try {
      const out = new StreamAppender(redis, key, execOutputStream, {
        maxBytes: 1000,
        coalesce: true,
        renewTtl: true,
        onStop: () => stops++,
      });
      // 300 bytes a chunk, then a three-byte character that straddles the cap.
      for (let i = 0; i < 3; i++) out.appendBytes('stdout', Buffer.from('a'.repeat(300)));
      out.appendBytes('stdout', Buffer.from(`${'b'.repeat(99)}€ more`));
      out.appendBytes('stdout', Buffer.from('never'));
      assert.deepEqual(out.stopReason, { cut: 1000 });
      assert.equal(stops, 1, 'the producer is told once');
      await out.end(() => [['exit', JSON.stringify({ exitCode: null, truncatedAtBytes: out.maxBytes })]]);
      const got = await entries(redis, key);
      const text = got
        .filter(([t]) => t === 'stdout')
        .map(([, d]) => d)
        .join('');
      assert.equal(text, `${'a'.repeat(900)}${'b'.repeat(99)}`, 'cut on a character, at most the cap');
      assert.deepEqual(got.at(-1), ['exit', JSON.stringify({ exitCode: null, truncatedAtBytes: 1000 })]);
      assert.ok((await redis.ttl(key)) > 0, 'the stream expires');
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });

  test('a terminal’s replay keeps its byte window of the newest output, not its entry cap of full entries', async () => {
    const redis = new Redis((await testInfra()).redisUrl);
    const key = `test:append:${process.pid}:${Date.now()}:window`;
    try {
      const out = new StreamAppender(redis, key, terminalOutputStream, { coalesce: true, renewTtl: true });
      // 4 MiB of numbered lines, written as a busy terminal writes them: many chunks, a write at a time.
      const lines = Array.from({ length: 65_536 }, (_, i) => `${String(i).padStart(63, '0')}\n`);
      for (let i = 0; i < lines.length; i += 256) {
        out.appendText('output', lines.slice(i, i + 256).join(''));
        if (i % 4_096 === 0) await out.flush();
      }
      await out.flush();
      const text = (await entries(redis, key)).map(([, d]) => d).join('');
      const window = terminalOutputStream.windowBytes!;
      assert.ok(text.length <= terminalOutputStream.maxBytes, `${text.length} bytes kept`);
      assert.ok(text.length >= window - terminalOutputStream.entryBytes, `${text.length} bytes kept`);
      assert.ok(text.endsWith(lines.slice(-16).join('')), 'the newest output, in order');
      assert.ok(Number(await redis.memory('USAGE', key)) < 2 * window, 'Redis holds about the window');
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });

  test('a rolling kind never stops: entries are cut to the kind’s size and trimmed to its entry cap', async () => {
    const redis = new Redis((await testInfra()).redisUrl);
    const key = `test:append:${process.pid}:${Date.now()}:rolling`;
    try {
      const out = new StreamAppender(redis, key, terminalOutputStream, { coalesce: true, renewTtl: true });
      const chunk = 'x'.repeat(4096 * 3 + 10);
      for (let i = 0; i < 2_000; i++) assert.equal(out.appendText('output', chunk), true);
      await out.end([['exit', '{"exitCode":0}']]);
      assert.equal(out.stopReason, undefined);
      const got = await entries(redis, key);
      assert.ok(got.length <= terminalOutputStream.maxEntries + 200, `${got.length} entries`);
      for (const [, d] of got) assert.ok(d.length <= 4096);
      assert.deepEqual(got.at(-1), ['exit', '{"exitCode":0}']);
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });
});
