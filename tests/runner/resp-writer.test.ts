import assert from 'node:assert/strict';
import { createServer, Socket } from 'node:net';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import {
  RespConnectionError,
  RespReplyError,
  RespWriter,
  writerBeside,
} from '../../runners/src/resp-writer.ts';
import { testInfra } from '../harness/infra.ts';

function optionsOf(url: string) {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port),
    username: decodeURIComponent(u.username) || null,
    password: decodeURIComponent(u.password) || null,
  };
}

describe('RespWriter (real Redis)', () => {
  test('sends pieces as one argument, keeps order, and answers every kind of reply', async () => {
    const url = (await testInfra()).redisUrl;
    const redis = new Redis(url);
    const writer = new RespWriter(optionsOf(url));
    const key = `test:resp:${process.pid}:${Date.now()}`;
    try {
      const pieces = [
        Buffer.from('héllo '),
        Buffer.alloc(0),
        Buffer.from('wörld\r\n'),
        Buffer.alloc(300_000, 0x61),
      ];
      const replies = writer.send([
        ['XADD', key, 'MAXLEN', '~', '1000', '*', 't', 'stdout', 'd', pieces],
        ['XADD', key, '*', 't', 'stderr', 'd', Buffer.from('two')],
        ['EXPIRE', key, '60'],
        ['LPUSH', key, 'x'],
        ['GET', `${key}:missing`],
        ['XADD', key, '*', 't', 'stdout', 'd', 'three'],
      ]);
      const [id1, id2, expire] = await Promise.all(replies.slice(0, 3));
      assert.match(String(id1), /^\d+-\d+$/);
      assert.match(String(id2), /^\d+-\d+$/);
      assert.equal(expire, 1);
      await assert.rejects(
        replies[3]!,
        (err: Error) => err instanceof RespReplyError && /WRONGTYPE/.test(err.message),
      );
      assert.equal(await replies[4], null);
      assert.match(String(await replies[5]), /^\d+-\d+$/);
      const rows = (await redis.xrangeBuffer(key, '-', '+')) as Array<[Buffer, Buffer[]]>;
      assert.equal(rows.length, 3);
      assert.deepEqual(rows[0]![1][3], Buffer.concat(pieces));
      assert.equal(rows[1]![1][3]!.toString(), 'two');
      assert.equal(rows[2]![1][3]!.toString(), 'three');
      // Still usable after error replies.
      assert.equal(await writer.send([['EXPIRE', key, '60']])[0], 1);
    } finally {
      writer.close();
      await redis.del(key);
      redis.disconnect();
    }
  });

  test('logs in as the ACL user, and a refused login fails its commands', async () => {
    const url = (await testInfra()).redisUrl;
    const admin = new Redis(url);
    const user = `resp-${process.pid}-${Date.now()}`;
    const prefix = `test:resp-acl:${process.pid}:`;
    await admin.acl('SETUSER', user, 'on', '>s3cret-pass', `~${prefix}*`, '+xadd', '+expire');
    const ok = new RespWriter({ ...optionsOf(url), username: user, password: 's3cret-pass' });
    const bad = new RespWriter({ ...optionsOf(url), username: user, password: 'wrong' });
    try {
      assert.match(String(await ok.send([['XADD', `${prefix}a`, '*', 't', 'x']])[0]), /^\d+-\d+$/);
      await assert.rejects(ok.send([['XADD', 'elsewhere', '*', 't', 'x']])[0]!, /NOPERM/);
      await assert.rejects(
        bad.send([['XADD', `${prefix}a`, '*', 't', 'x']])[0]!,
        (err: Error) => err instanceof RespConnectionError && /WRONGPASS/.test(err.message),
      );
      assert.equal(await admin.xlen(`${prefix}a`), 1, 'nothing ran behind the refused login');
    } finally {
      ok.close();
      bad.close();
      await admin.del(`${prefix}a`);
      await admin.acl('DELUSER', user);
      admin.disconnect();
    }
  });

  test('a lost connection fails what waits on it, and the next command reconnects', async () => {
    const url = (await testInfra()).redisUrl;
    const admin = new Redis(url);
    const writer = new RespWriter(optionsOf(url));
    const key = `test:resp:${process.pid}:${Date.now()}:kill`;
    try {
      const id = await writer.send([['CLIENT', 'ID']])[0];
      // Settled before anything awaits it: the kill may come first.
      const blocked = writer.send([['BLPOP', key, '0']])[0]!.then(
        () => undefined,
        (err: Error) => err,
      );
      await new Promise((r) => setTimeout(r, 100));
      await admin.client('KILL', 'ID', String(id));
      assert.ok((await blocked) instanceof RespConnectionError);
      assert.equal(await writer.send([['EXPIRE', key, '1']])[0], 0);
    } finally {
      writer.close();
      admin.disconnect();
    }
  });

  test('a server that never answers or goes away is an error, not a hang', async () => {
    const sockets: import('node:net').Socket[] = [];
    const server = createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const writer = new RespWriter({ host: '127.0.0.1', port });
    try {
      const pending = writer.send([['PING']])[0]!.then(
        () => undefined,
        (err: Error) => err,
      );
      await new Promise((r) => setTimeout(r, 50));
      for (const s of sockets) s.destroy();
      assert.ok((await pending) instanceof RespConnectionError);
      const refused = new RespWriter({ host: '127.0.0.1', port: 1 });
      await assert.rejects(refused.send([['PING']])[0]!, RespConnectionError);
      refused.close();
      writer.close();
      await assert.rejects(writer.send([['PING']])[0]!, RespConnectionError);
    } finally {
      server.close();
    }
  });

  test("a turn's commands from many callers leave in one write", async () => {
    const server = createServer((s) => {
      s.on('error', () => {});
      s.on('data', (chunk) => s.write('+PONG\r\n'.repeat(chunk.toString().split('PING').length - 1)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const writer = new RespWriter({ host: '127.0.0.1', port });
    // Each write a socket hands to the kernel goes through one of these.
    const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...a: unknown[]) => unknown>;
    const original = { _write: proto._write, _writev: proto._writev };
    let writes = 0;
    for (const name of ['_write', '_writev'] as const) {
      proto[name] = function (this: Socket, ...args: unknown[]) {
        if (this.remotePort === port) writes++;
        return original[name].apply(this, args);
      };
    }
    try {
      assert.equal(String(await writer.send([['PING']])[0]), 'PONG');
      writes = 0;
      // Three callers in one turn, as three streams' output is: one write.
      const replies = [writer.send([['PING']])[0]!, writer.send([['PING']])[0]!, writer.send([['PING']])[0]!];
      assert.deepEqual((await Promise.all(replies)).map(String), ['PONG', 'PONG', 'PONG']);
      assert.equal(writes, 1);
    } finally {
      Object.assign(proto, original);
      writer.close();
      server.close();
    }
  });

  test('nothing leaves before the login is answered', async () => {
    const chunks: string[] = [];
    let answer: (() => void) | undefined;
    const server = createServer((s) => {
      s.on('error', () => {});
      s.on('data', (chunk) => {
        chunks.push(chunk.toString('latin1'));
        if (chunks.length === 1) answer = () => s.write('+OK\r\n');
        else s.write('+PONG\r\n'.repeat(chunk.toString().split('PING').length - 1));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const writer = new RespWriter({ host: '127.0.0.1', port, password: 'secret' });
    try {
      const replies = [writer.send([['PING']])[0]!, writer.send([['PING']])[0]!];
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(chunks, ['*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n']);
      answer!();
      assert.deepEqual((await Promise.all(replies)).map(String), ['PONG', 'PONG']);
    } finally {
      writer.close();
      server.close();
    }
  });

  test('the writer beside an ioredis client closes when the client ends', async () => {
    const redis = new Redis((await testInfra()).redisUrl);
    const writer = writerBeside(redis);
    assert.equal(writerBeside(redis), writer);
    assert.equal(await writer.send([['PING']])[0]!.then(String), 'PONG');
    redis.disconnect();
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(writer.send([['PING']])[0]!, RespConnectionError);
  });
});
