/**
 * The Redis that scripts/up starts (scripts/lib/redis-users.sh, then redis-server with its
 * ACL file) and the test harness' Redis refuse every client without the password.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { freePort, waitFor } from '../harness/ports.ts';
import { redisServerArgs, startRedisServer } from '../harness/redis-server.ts';

const root = new URL('../..', import.meta.url).pathname;

/** What a client gets for a PING without logging in, or with a wrong login. */
async function refusal(port: number, login?: { username: string; password: string }): Promise<string> {
  const r = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    if (login) await r.call('AUTH', login.username, login.password);
    return `answered ${await r.ping()}`;
  } catch (err) {
    return (err as Error).message.split(' ')[0]!;
  } finally {
    r.disconnect();
  }
}

/** The login scripts/up prepares, by the same shell function. */
function prepareAsUp(dir: string): { username: string; password: string } {
  const out = execFileSync(
    'bash',
    [
      '-c',
      'source scripts/lib/common.sh; source scripts/lib/redis-users.sh; keel_prepare_redis_users "$1"; printf %s "$KEEL_REDIS_USER:$KEEL_REDIS_PASSWORD"',
      '_',
      dir,
    ],
    { cwd: root, encoding: 'utf8' },
  );
  const [username, password] = [out.slice(0, out.indexOf(':')), out.slice(out.indexOf(':') + 1)];
  return { username: username!, password: password! };
}

async function startAsUp(dir: string, port: number) {
  // Append-only, as scripts/up runs it: what was written must come back after a restart.
  const args = [...redisServerArgs({ port, dir, aclFile: join(dir, 'users.acl') }), '--appendonly', 'yes'];
  const child = spawn('redis-server', args, {
    stdio: 'ignore',
  });
  await waitFor('redis-server', async () => ((await refusal(port)) === 'NOAUTH' ? true : undefined));
  return {
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

describe("Redis' users", () => {
  test("scripts/up's Redis: no login is refused; the edge's user works, may make runner users, and both survive a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-redis-up-'));
    try {
      const user = prepareAsUp(dir);
      assert.equal(user.username, 'keel-edge');
      assert.equal(statSync(join(dir, 'edge.password')).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, 'users.acl')).mode & 0o777, 0o600);
      const port = await freePort();
      let server = await startAsUp(dir, port);
      assert.equal(await refusal(port), 'NOAUTH');
      assert.equal(await refusal(port, { username: 'default', password: '' }), 'WRONGPASS');
      assert.equal(await refusal(port, { username: 'keel-edge', password: 'guess' }), 'WRONGPASS');

      const edge = new Redis({ port, host: '127.0.0.1', ...user });
      await edge.acl('SETUSER', 'keel-runner-x', 'on', '>runner-pass', '~runner.x:*', '+get', '+ping');
      // Writes in a transaction and in a script (how BullMQ queues a job) are kept on disk too.
      await edge.multi().set('tx:a', '1').set('tx:b', '2').exec();
      await edge.eval("redis.call('SET', KEYS[1], ARGV[1]); return 1", 1, 'script:c', '3');
      await edge.acl('SAVE');
      await assert.rejects(edge.config('SET', 'dir', '/tmp'), /NOPERM/);
      edge.disconnect();
      await server.stop();

      const again = prepareAsUp(dir);
      assert.deepEqual(again, user, 'the same password on restart');
      assert.match(readFileSync(join(dir, 'users.acl'), 'utf8'), /^user keel-runner-x /m);
      server = await startAsUp(dir, port);
      try {
        assert.equal(await refusal(port), 'NOAUTH');
        assert.equal(
          await refusal(port, { username: 'keel-runner-x', password: 'runner-pass' }),
          'answered PONG',
        );
        assert.equal(await refusal(port, user), 'answered PONG');
        const back = new Redis({ port, host: '127.0.0.1', ...user });
        assert.deepEqual(await back.mget('tx:a', 'tx:b', 'script:c'), ['1', '2', '3']);
        back.disconnect();
      } finally {
        await server.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('keel_start_redis: a port taken before Redis binds it is given up for another one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-redis-start-'));
    // The port keel_free_port named is taken by someone else before Redis starts.
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
    const taken = (squatter.address() as AddressInfo).port;
    let pid = 0;
    try {
      const script = [
        'source scripts/lib/common.sh; source scripts/lib/redis-users.sh',
        'keel_prepare_redis_users "$DIR"',
        // The first free port is the taken one, later ones free (a file counts: $(…) runs in a subshell).
        'keel_free_port() { if [ ! -e "$DIR/named" ]; then touch "$DIR/named"; echo "$TAKEN"; else node -e \'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})\'; fi; }',
        // Redis keeps its standard streams: away from this test's pipes, or the call would wait for it.
        'keel_start_redis "$DIR" >/dev/null 2>"$DIR/said"; echo "$? ${redis_port:-} ${redis_pid:-}"',
      ].join('\n');
      const out = execFileSync('bash', ['-c', script], {
        cwd: root,
        env: { ...process.env, DIR: dir, TAKEN: String(taken) },
        encoding: 'utf8',
        timeout: 60_000,
      }).trim();
      const [code, port, started] = out.split(' ').map(Number);
      pid = started ?? 0;
      assert.equal(code, 0, `${out}\n${readFileSync(join(dir, 'said'), 'utf8')}`);
      assert.notEqual(port, taken);
      assert.match(
        readFileSync(join(dir, 'said'), 'utf8'),
        new RegExp(`could not start on port ${taken} \\(try 1 of 3\\)`),
      );
      assert.equal(await refusal(port!), 'NOAUTH');
      assert.equal(await refusal(port!, prepareAsUp(dir)), 'answered PONG');
    } finally {
      if (pid) process.kill(pid, 'SIGTERM');
      squatter.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the test harness' Redis refuses a client without the password; its URL logs in", async () => {
    const redis = await startRedisServer();
    try {
      assert.equal(await refusal(redis.port), 'NOAUTH');
      assert.equal(await refusal(redis.port, { username: 'default', password: '' }), 'WRONGPASS');
      const viaUrl = new Redis(redis.url);
      assert.equal(await viaUrl.ping(), 'PONG');
      viaUrl.disconnect();
    } finally {
      await redis.stop();
    }
  });
});
