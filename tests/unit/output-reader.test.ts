import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { outputReader, ReaderPool } from '../../edge/src/workspaces/output-reader.ts';
import { testInfra } from '../harness/infra.ts';

async function readAll(redis: Redis, key: string, from = '0-0') {
  const reader = outputReader(redis);
  const got: Array<{ id: string; t?: string; d: Buffer }> = [];
  try {
    let cursor = from;
    for (;;) {
      const batch = await reader.read(key, cursor, 16, 200);
      if (!batch) break;
      // Views are good until the next read: copied here.
      for (const e of batch) got.push({ id: e.id, t: e.t, d: Buffer.from(e.d ?? []) });
      cursor = batch.at(-1)!.id;
      if (batch.at(-1)!.t === 'exit') break;
    }
  } finally {
    reader.close();
  }
  return got;
}

/**
 * A Redis user that may only read `key…` (and an admin connection): its connections are this
 * test's own, so the test can find and cut them.
 */
async function readerUser(name: string, also: string[] = []) {
  const url = (await testInfra()).redisUrl;
  const admin = new Redis(url);
  const user = `${name}-${process.pid}-${Date.now()}`;
  const key = `test:${name}:${process.pid}:${Date.now()}`;
  await admin.acl('SETUSER', user, 'on', '>p4ss-word', `~${key}*`, '+xread', '+client|id', '+ping', ...also);
  const u = new URL(url);
  const redis = new Redis({ host: u.hostname, port: Number(u.port), username: user, password: 'p4ss-word' });
  return {
    admin,
    user,
    key,
    redis,
    /** Cuts this user's connections that block in XREAD (the lean readers'); how many. */
    async cutReads(): Promise<number> {
      let cut = 0;
      for (const line of String(await admin.call('CLIENT', 'LIST', 'TYPE', 'normal')).split('\n')) {
        if (line.includes(`user=${user}`) && line.includes('cmd=xread')) {
          await admin.client('KILL', 'ID', /id=(\d+)/.exec(line)![1]!);
          cut++;
        }
      }
      return cut;
    },
    async cleanUp(): Promise<void> {
      redis.disconnect();
      await admin.del(key);
      await admin.acl('DELUSER', user);
      admin.disconnect();
    },
  };
}

describe('outputReader (real Redis)', () => {
  test('reads entries of every size in order, from a cursor, and times out with null', async () => {
    const redis = new Redis((await testInfra()).redisUrl);
    const key = `test:reader:${process.pid}:${Date.now()}`;
    try {
      const sizes = [1, 300_000, 0, 70_000, 5, 262_144, 1_000_000, 3];
      const ids: string[] = [];
      for (const [i, n] of sizes.entries()) {
        ids.push(
          (await redis.xadd(key, '*', 't', i % 2 ? 'stderr' : 'stdout', 'd', Buffer.alloc(n, 97 + i)))!,
        );
      }
      for (let i = 0; i < 40; i++) ids.push((await redis.xadd(key, '*', 't', 'stdout', 'd', `line ${i}\n`))!);
      ids.push((await redis.xadd(key, '*', 't', 'exit', 'd', '{"exitCode":0}'))!);
      const got = await readAll(redis, key);
      assert.deepEqual(
        got.map((e) => e.id),
        ids,
      );
      for (const [i, n] of sizes.entries()) {
        assert.equal(got[i]!.t, i % 2 ? 'stderr' : 'stdout');
        assert.deepEqual(got[i]!.d, Buffer.alloc(n, 97 + i));
      }
      assert.equal(got.at(-2)!.d.toString(), 'line 39\n');
      assert.equal(got.at(-1)!.d.toString(), '{"exitCode":0}');
      const resumed = await readAll(redis, key, ids[5]!);
      assert.deepEqual(
        resumed.map((e) => e.id),
        ids.slice(6),
      );
      const empty = outputReader(redis);
      assert.equal(await empty.read(`${key}:none`, '0-0', 16, 50), null);
      empty.close();
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });

  test('a buffer grown for a large reply is kept while large replies keep coming, and let go after a quiet second', async () => {
    const redis = new Redis((await testInfra()).redisUrl);
    const key = `test:reader:held:${process.pid}:${Date.now()}`;
    const reader = outputReader(redis);
    try {
      let cursor = '0-0';
      const read = async () => {
        const got = (await reader.read(key, cursor, 128, 1_000))!;
        cursor = got.at(-1)!.id;
      };
      // A download's rhythm: a full window, then a single entry, then a full window again.
      for (let i = 0; i < 8; i++) await redis.xadd(key, '*', 't', 'data', 'd', Buffer.alloc(1024 * 1024, i));
      await read();
      const grown = reader.heldBytes!;
      assert.ok(grown >= 8 * 1024 * 1024, `${grown} bytes`);
      await redis.xadd(key, '*', 't', 'data', 'd', Buffer.alloc(1024 * 1024));
      await read();
      await redis.xadd(key, '*', 't', 'data', 'd', 'small');
      await read();
      assert.equal(reader.heldBytes, grown, 'kept between large replies');
      await new Promise((r) => setTimeout(r, 1_100));
      await redis.xadd(key, '*', 't', 'data', 'd', 'small');
      await read();
      await redis.xadd(key, '*', 't', 'data', 'd', 'small');
      await read();
      assert.ok(reader.heldBytes! <= 256 * 1024, `let go after a quiet second (${reader.heldBytes} bytes)`);
    } finally {
      reader.close();
      await redis.del(key);
      redis.disconnect();
    }
  });

  test('logs in as the client does, and a dropped connection goes on through ioredis', async () => {
    const { admin, key, redis, cutReads, cleanUp } = await readerUser('reader');
    const reader = outputReader(redis);
    try {
      await admin.xadd(key, '*', 't', 'stdout', 'd', 'one');
      const first = await reader.read(key, '0-0', 16, 100);
      assert.equal(Buffer.from(first![0]!.d!).toString(), 'one');
      await assert.rejects(reader.read(`${key.replace('test:', 'other:')}`, '0-0', 16, 100), /NOPERM/);
      // Kill the reader's own connection (not the ioredis one) while it blocks.
      const pending = reader.read(key, first![0]!.id, 16, 2_000);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await cutReads(), 1, "the reader's own connection, not an ioredis one");
      await admin.xadd(key, '*', 't', 'exit', 'd', '{}');
      const rest = await pending;
      assert.equal(rest![0]!.t, 'exit');
    } finally {
      reader.close();
      await cleanUp();
    }
  });

  test('a script and the first read in one write: the read waits for what the script made, and goes on through ioredis when cut', async () => {
    const { admin, key, redis, cutReads, cleanUp } = await readerUser('pipelined', ['+eval', '+xadd']);
    const script = "redis.call('XADD', KEYS[1], ARGV[1], 't', 'meta', 'd', 'm') return 1";
    const reader = outputReader(redis);
    try {
      const started = reader.evalThenRead(script, [key], ['0-1'], {
        key,
        from: '0-1',
        count: 16,
        blockMs: 2_000,
      });
      assert.ok(started, 'a lean reader pipelines');
      assert.equal(await started.result, 1);
      assert.equal((await admin.xrange(key, '-', '+'))[0]?.[0], '0-1', 'the script ran first');
      // Cut the reader's own connection while its read blocks: the read goes on elsewhere.
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await cutReads(), 1);
      const token = await admin.xadd(key, '*', 't', 'token', 'd', 'first');
      const entries = await started.entries;
      assert.deepEqual(
        entries?.map((e) => [e.id, e.t, Buffer.from(e.d ?? []).toString()]),
        [[token, 'token', 'first']],
      );
      // A script error is the result's; nothing is read after it.
      const failing = outputReader(redis);
      const refused = failing.evalThenRead('return redis.call("NOSUCHCOMMAND")', [key], [], {
        key: `${key}:none`,
        from: '0-0',
        count: 16,
        blockMs: 2_000,
      });
      refused!.entries.catch(() => {});
      await assert.rejects(refused!.result);
      failing.close();
    } finally {
      reader.close();
      await cleanUp();
    }
  });

  test('a pool hands a reader that read to its end to the next stream, and never one still waiting or cut off', async () => {
    // A user of its own, so that only this test's connections are cut below.
    const { admin, key, redis, cutReads, cleanUp } = await readerUser('pool');
    const pool = new ReaderPool(() => redis, 2);
    try {
      await admin.xadd(key, '*', 't', 'exit', 'd', '{}');
      const first = pool.take();
      assert.equal((await first.read(key, '0-0', 16, 100))![0]!.t, 'exit');
      assert.ok(first.idle, 'nothing waiting after its last read');
      pool.give(first);
      const again = pool.take();
      assert.equal(again, first, 'the same reader, its connection reused');
      assert.equal((await again.read(key, '0-0', 16, 100))![0]!.t, 'exit', 'and it reads');

      // One still blocked in XREAD is closed, not kept: its reply would reach the next stream.
      const waiting = again.read(`${key}:quiet`, '0-0', 16, 5_000);
      waiting.catch(() => {});
      assert.equal(again.idle, false);
      pool.give(again);
      await assert.rejects(waiting);
      assert.notEqual(pool.take(), again);

      // One whose connection closed while it sat in the pool is not handed out.
      const kept = pool.take();
      await kept.read(key, '0-0', 16, 100);
      pool.give(kept);
      await cutReads();
      await new Promise((r) => setTimeout(r, 100));
      const fresh = pool.take();
      assert.notEqual(fresh, kept);
      assert.equal((await fresh.read(key, '0-0', 16, 100))![0]!.t, 'exit');
      fresh.close();

      // Once the pool is closed, what comes back is closed too.
      pool.close();
      const late = outputReader(redis);
      await late.read(key, '0-0', 16, 100);
      pool.give(late);
      assert.equal(late.idle, false);
    } finally {
      pool.close();
      await cleanUp();
    }
  });
});
