import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  PREVIEW_CHUNK_BYTES,
  PREVIEW_WINDOW_BYTES,
  PREVIEW_WINDOW_ENTRIES,
  PreviewWindow,
} from '@keel/contract/preview';
import { Redis } from 'ioredis';
import { appendWindowed } from '../../edge/src/preview/relay.ts';
import { followWindow, WindowedWriter } from '../../runners/src/preview/stream-window.ts';
import { writerBeside } from '../../runners/src/resp-writer.ts';
import { testInfra } from '../harness/infra.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('PreviewWindow: entries and bytes unread, the oldest consumed first', () => {
  const w = new PreviewWindow();
  assert.ok(w.fits(PREVIEW_WINDOW_ENTRIES, 0) && !w.fits(PREVIEW_WINDOW_ENTRIES + 1, 0));
  for (let i = 0; i < 3; i++) w.wrote(PREVIEW_CHUNK_BYTES);
  w.wrote(10);
  assert.equal(w.entries, 4);
  assert.equal(w.bytes, 3 * PREVIEW_CHUNK_BYTES + 10);
  assert.ok(!w.fits(1, PREVIEW_CHUNK_BYTES), 'a fourth full chunk would pass the byte bound');
  assert.ok(w.fits(1, PREVIEW_WINDOW_BYTES - w.bytes));
  w.seen(2);
  assert.equal(w.entries, 2);
  assert.equal(w.bytes, PREVIEW_CHUNK_BYTES + 10);
  w.seen(5); // More than it wrote (another writer's `close`): nothing inferred.
  assert.equal(w.entries, 2);
  w.seen(0);
  assert.equal(w.bytes, 0);
  for (let i = 0; i < PREVIEW_WINDOW_ENTRIES; i++) w.wrote(0);
  assert.ok(w.full, 'full by entries alone');
});

describe('a preview stream window (real Redis)', () => {
  let redis: Redis;
  let blocking: Redis;
  before(async () => {
    const { redisUrl } = await testInfra();
    redis = new Redis(redisUrl);
    blocking = new Redis(redisUrl);
  });
  after(() => {
    redis.disconnect();
    blocking.disconnect();
  });

  for (const path of ['plain connection', 'ioredis'] as const) {
    test(`large entries stay within 4 MiB unread; 12 MiB of random bytes arrive whole (${path})`, async () => {
      const raw = path === 'plain connection' ? writerBeside(redis) : undefined;
      const key = `test:pvwin:${process.pid}:${path.length}:${Date.now()}`;
      const body = randomBytes(12 * 1024 * 1024);
      const writer = new WindowedWriter(redis, key, () => assert.fail('stalled'), raw);
      let written = 0;
      const producing = (async () => {
        // Pieces of assorted sizes, as a socket hands them over; some larger than a chunk.
        for (let at = 0; at < body.length; ) {
          const n = Math.min(body.length - at, [4_000, 70_000, 300_000, 1_500_000][at % 4]!);
          await writer.add('data', body.subarray(at, at + n));
          at += n;
          written = at;
        }
        await writer.add('end');
        await writer.flushed();
      })();

      // Nobody reads yet: the writer stops at the window.
      await new Promise((r) => setTimeout(r, 400));
      const held = async () => {
        const rows = (await redis.xrangeBuffer(key, '-', '+')) as Array<[Buffer, Buffer[]]>;
        let bytes = 0;
        for (const [, f] of rows) bytes += f[3]?.length ?? 0;
        assert.ok(rows.length <= PREVIEW_WINDOW_ENTRIES, `${rows.length} entries unread`);
        assert.ok(bytes <= PREVIEW_WINDOW_BYTES, `${bytes} bytes unread`);
        for (const [, f] of rows) assert.ok((f[3]?.length ?? 0) <= PREVIEW_CHUNK_BYTES);
        return bytes;
      };
      const parked = await held();
      assert.ok(parked > PREVIEW_WINDOW_BYTES / 2, `the window fills (${parked} bytes)`);
      assert.ok(written < body.length, 'the producer waits for the reader');

      const got: Buffer[] = [];
      let checks = 0;
      const how = await followWindow(
        blocking,
        redis,
        key,
        ['end'],
        async (entries) => {
          for (const e of entries) if (e.t === 'data' && e.d) got.push(Buffer.from(e.d));
          // A slow reader: the bound holds while it reads.
          if (checks++ % 4 === 0) await held();
        },
        () => false,
      );
      await producing;
      assert.equal(how, 'final');
      const all = Buffer.concat(got);
      assert.equal(all.length, body.length);
      assert.equal(sha(all), sha(body));
      await redis.del(key);
      raw?.close();
    });
  }

  test("the edge's up stream keeps the same bound: a WebSocket's 1.5 MiB messages wait for the runner", async () => {
    const key = `test:pvwin:up:${process.pid}:${Date.now()}`;
    const window = new PreviewWindow();
    const messages = Array.from({ length: 6 }, () => randomBytes(1.5 * 1024 * 1024));
    let sent = 0;
    const sending = (async () => {
      for (const m of messages) {
        await appendWindowed(redis, key, 'wb', m, window);
        sent++;
      }
      await appendWindowed(redis, key, 'end', undefined, window);
    })();
    await new Promise((r) => setTimeout(r, 300));
    const rows = (await redis.xrangeBuffer(key, '-', '+')) as Array<[Buffer, Buffer[]]>;
    const held = rows.reduce((n, [, f]) => n + (f[3]?.length ?? 0), 0);
    assert.ok(held <= PREVIEW_WINDOW_BYTES && held > PREVIEW_WINDOW_BYTES / 2, `${held} bytes unread`);
    assert.ok(sent < messages.length);
    const whole: Buffer[] = [];
    let pieces: Buffer[] = [];
    await followWindow(
      blocking,
      redis,
      key,
      ['end'],
      (entries) => {
        for (const e of entries) {
          if (e.t === 'wc') pieces.push(Buffer.from(e.d!));
          else if (e.t === 'wb') {
            whole.push(Buffer.concat([...pieces, e.d!]));
            pieces = [];
          }
        }
      },
      () => false,
    );
    await sending;
    assert.deepEqual(whole.map(sha), messages.map(sha), 'each message whole, in its bounds, in order');
    await redis.del(key);
  });

  test('the plain connection logs in as the ioredis one does, and a refused login fails the batch', async () => {
    const { redisUrl } = await testInfra();
    const user = `pvwin${process.pid}`;
    await redis.call('ACL', 'SETUSER', user, 'on', '>secret-pass', '~*', '+@all');
    const url = new URL(redisUrl);
    try {
      const good = new Redis({
        host: url.hostname,
        port: Number(url.port),
        username: user,
        password: 'secret-pass',
      });
      const bad = new Redis({
        host: url.hostname,
        port: Number(url.port),
        username: user,
        password: 'wrong',
        lazyConnect: true,
      });
      const ok = writerBeside(good);
      const replies = await Promise.all(
        ok.send([
          ['XADD', `test:pvwin:login:${process.pid}`, '*', 't', 'data', 'd', Buffer.from('\r\n\0x')],
          ['XLEN', `test:pvwin:login:${process.pid}`],
        ]),
      );
      assert.ok(Buffer.isBuffer(replies[0]), 'the entry id');
      assert.equal(replies[1], 1);
      const rows = (await redis.xrangeBuffer(`test:pvwin:login:${process.pid}`, '-', '+')) as Array<
        [Buffer, Buffer[]]
      >;
      assert.deepEqual(rows[0]![1][3], Buffer.from('\r\n\0x'));
      const refused = writerBeside(bad);
      await assert.rejects(Promise.all(refused.send([['XLEN', 'test:pvwin:nothing']])));
      ok.close();
      refused.close();
      good.disconnect();
      bad.disconnect();
    } finally {
      await redis.call('ACL', 'DELUSER', user);
      await redis.del(`test:pvwin:login:${process.pid}`);
    }
  });
});
