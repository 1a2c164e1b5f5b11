/*
 * A process-driver workspace without network still has one loopback for all its commands, as
 * a machine does: a server one command starts (a dev server in a terminal) answers the next
 * command (and so a preview), while nothing outside the workspace is reachable, and another
 * workspace's loopback is another one.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import { collect } from './exec-util.ts';

const A = 'loopback-a';
const B = 'loopback-b';
const PORT = 47_123;

const SERVER = `require('node:http').createServer((q, s) => s.end('from ' + process.env.WHO)).listen(${PORT}, '127.0.0.1', () => console.log('listening'))`;
const CLIENT = `require('node:http').get('http://127.0.0.1:${PORT}/', (r) => { let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => { console.log(b); process.exit(0); }); }).on('error', (e) => { console.log('error ' + e.code); process.exit(3); })`;

describe('process driver: one loopback per workspace, shared by its commands', () => {
  let base: string;
  let driver: ProcessDriver;

  before(async () => {
    base = mkdtempSync('/tmp/keel-loopback-pd-');
    chmodSync(base, 0o755);
    driver = new ProcessDriver({ root: path.join(base, 'root') });
    for (const id of [A, B]) {
      await driver.create({
        workspaceId: id,
        cpus: 1,
        memoryMb: 256,
        network: false,
        storage: { kind: 'volume' },
      });
      await driver.start(id);
    }
  });

  after(async () => {
    for (const id of [A, B]) await driver?.remove(id, { keepData: false }).catch(() => {});
    rmSync(base, { recursive: true, force: true });
  });

  it('a server started by one command answers another; the other workspace and the host do not see it', async () => {
    const server = driver.exec(A, { argv: ['node', '-e', SERVER], env: { WHO: 'a' }, timeoutMs: 60_000 });
    let out = '';
    server.stdout.on('data', (c: Buffer) => (out += c));
    const deadline = Date.now() + 15_000;
    while (!out.includes('listening')) {
      assert.ok(Date.now() < deadline, 'the server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      const same = await collect(driver.exec(A, { argv: ['node', '-e', CLIENT] }));
      assert.equal(same.stdout.trim(), 'from a', same.stderr);

      const other = await collect(driver.exec(B, { argv: ['node', '-e', CLIENT] }));
      assert.equal(other.stdout.trim(), 'error ECONNREFUSED');

      // The host's own loopback is not the workspace's.
      assert.throws(() =>
        execFileSync('curl', ['-s', '-m', '2', `http://127.0.0.1:${PORT}/`], { stdio: 'pipe' }),
      );

      // Still no way out: only loopback is in the namespace.
      const links = await collect(driver.exec(A, { argv: ['cat', '/proc/net/dev'] }));
      const names = links.stdout
        .split('\n')
        .slice(2)
        .map((l) => l.split(':')[0]!.trim())
        .filter(Boolean);
      assert.deepEqual(names, ['lo']);
      const route = await collect(driver.exec(A, { argv: ['cat', '/proc/net/route'] }));
      assert.equal(route.stdout.trim().split('\n').length, 1, `no routes beyond the header: ${route.stdout}`);
    } finally {
      await server.kill();
    }
  });

  it('a stop ends the namespace with the workspace, and a start makes a fresh one', async () => {
    await driver.stop(A);
    await driver.start(A);
    const again = await collect(driver.exec(A, { argv: ['node', '-e', CLIENT] }));
    assert.equal(again.stdout.trim(), 'error ECONNREFUSED');
  });
});
