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
import { appendWindowed, DownReader } from '../../edge/src/preview/relay.ts';
import { outputReader } from '../../edge/src/workspaces/output-reader.ts';
import { followWindow, WindowedWriter } from '../../runners/src/preview/stream-window.ts';
import { writerBeside } from '../../runners/src/resp-writer.ts';
import { testInfra } from '../harness/infra.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('PreviewWindow: entries and bytes unread, the oldest consumed first', () => {
  const w = new PreviewWindow();
  assert.ok(w.fits(PREVIEW_WINDOW_ENTRIES, 0) && !w.fits(PREVIEW_WINDOW_ENTRIES + 1, 0));
  // Full chunks up to one short of the byte bound, and a small entry.
  const chunks = PREVIEW_WINDOW_BYTES / PREVIEW_CHUNK_BYTES - 1;
  for (let i = 0; i < chunks; i++) w.wrote(PREVIEW_CHUNK_BYTES);
  w.wrote(10);
  assert.equal(w.entries, chunks + 1);
  assert.equal(w.bytes, chunks * PREVIEW_CHUNK_BYTES + 10);
  assert.ok(!w.fits(1, PREVIEW_CHUNK_BYTES), 'one more full chunk would pass the byte bound');
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
    test(`large entries stay within the window unread; three windows of random bytes arrive whole (${path})`, async () => {
      const raw = path === 'plain connection' ? writerBeside(redis) : undefined;
      const key = `test:pvwin:${process.pid}:${path.length}:${Date.now()}`;
      const body = randomBytes(3 * PREVIEW_WINDOW_BYTES);
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

  test("the edge's reader deletes what it took with its next read: a slow client holds the runner at the window; a body in small pieces goes in large entries", async () => {
    const key = `test:pvwin:down:${process.pid}:${Date.now()}`;
    // A client of its own: the writer beside `redis` was closed by the tests above.
    const runner = new Redis((await testInfra()).redisUrl);
    const raw = writerBeside(runner);
    const body = randomBytes(3 * PREVIEW_WINDOW_BYTES);
    const writer = new WindowedWriter(runner, key, () => assert.fail('stalled'), raw);
    let entries = 0;
    const producing = (async () => {
      // 16 KiB pieces, one a turn, as the forwarded socket hands a download over.
      for (let at = 0; at < body.length; at += 16 * 1024) {
        await writer.add('data', body.subarray(at, at + 16 * 1024));
        await new Promise((r) => setImmediate(r));
      }
      await writer.add('end');
      await writer.flushed();
    })();
    const reader = outputReader(redis);
    const down = new DownReader(reader, key);
    const got: Buffer[] = [];
    try {
      for (let batch = 0; ; batch++) {
        const taken = await down.next(Date.now() + 10_000);
        assert.ok(taken.length > 0, 'the body keeps coming');
        entries += taken.filter((e) => e.t === 'data').length;
        for (const e of taken) if (e.t === 'data' && e.d) got.push(Buffer.from(e.d));
        if (taken.at(-1)!.t === 'end') break;
        if (batch % 3 === 0) {
          // A client slower than the runner: what it took is still in the window until the next
          // read, and the window's bound holds.
          await new Promise((r) => setTimeout(r, 60));
          const rows = (await redis.xrangeBuffer(key, '-', '+')) as Array<[Buffer, Buffer[]]>;
          const ids = new Set(rows.map(([id]) => id.toString()));
          assert.ok(ids.has(taken[0]!.id), 'taken, not yet deleted');
          const held = rows.reduce((n, [, f]) => n + (f[3]?.length ?? 0), 0);
          assert.ok(
            rows.length <= PREVIEW_WINDOW_ENTRIES && held <= PREVIEW_WINDOW_BYTES,
            `${held} bytes unread`,
          );
        }
      }
      await producing;
      assert.equal(sha(Buffer.concat(got)), sha(body), 'the body whole, in order');
      assert.ok(
        entries <= (body.length / (1024 * 1024)) * 4,
        `${entries} entries for ${body.length / 16_384} pieces`,
      );
      // The last batch goes with the reader's next command, or as it closes.
      reader.close();
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(await redis.xlen(key), 0);
    } finally {
      reader.close();
      raw.close();
      runner.disconnect();
      await redis.del(key);
    }
  });

  test("the edge's up stream keeps the same bound: a WebSocket's 1.5 MiB messages wait for the runner", async () => {
    const key = `test:pvwin:up:${process.pid}:${Date.now()}`;
    const window = new PreviewWindow();
    const messages = Array.from({ length: Math.ceil(PREVIEW_WINDOW_BYTES / (1.5 * 1024 * 1024)) + 2 }, () =>
      randomBytes(1.5 * 1024 * 1024),
    );
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
