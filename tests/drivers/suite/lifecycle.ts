/*
 * A workload's life through the driver (create, start, stop, remove, status, list, storage,
 * network) and a workspace's life through the API on a runner that drives it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runnerKeys } from '@keel/contract/keys';
import { WorkloadError } from '../../../runners/src/workloads/types.ts';
import type { Rig } from '../../harness/runner-rig.ts';
import { collect, waitForOutput } from '../../runner/exec-util.ts';
import { runToEnd, waitGone } from './api.ts';
import type { Stand } from './stand.ts';

const isCode = (code: WorkloadError['code']) => (e: unknown) => e instanceof WorkloadError && e.code === code;

export function lifecycleSuite(stand: Stand): void {
  describe('lifecycle (driver)', () => {
    const sh = (id: string, script: string) =>
      collect(stand.driver().exec(id, { argv: ['sh', '-c', script] }));

    test('status: stopped once created, running once started, missing when unknown; exec only while running', async () => {
      const driver = stand.driver();
      const id = stand.id('life');
      await driver.create(stand.spec(id));
      assert.equal(await driver.status(id), 'stopped');
      assert.equal(await driver.status(stand.id('nope')), 'missing');
      await assert.rejects(collect(driver.exec(id, { argv: ['true'] })), isCode('WORKLOAD_NOT_RUNNING'));
      await driver.start(id);
      assert.equal(await driver.status(id), 'running');
      assert.ok((await driver.list()).includes(id));
      assert.equal((await driver.states()).get(id)?.status, 'running');
      // Idempotent: a second create leaves the running workload as it is.
      await driver.create(stand.spec(id));
      assert.equal(await driver.status(id), 'running');
    });

    test('commands run unprivileged in /workspace, with the system read-only', async () => {
      const id = stand.id('life');
      const r = await sh(
        id,
        'id -u; echo "$PWD"; (echo x >> /etc/passwd) 2>/dev/null && echo passwd-writable; ' +
          'touch /usr/x 2>/dev/null && echo usr-writable; ' +
          'touch /workspace/ok && echo ws-ok',
      );
      assert.equal(r.exitCode, 0, r.stderr);
      const owner = stand.driver().fileOwner;
      const uid = String(owner?.uid ?? process.getuid?.());
      assert.equal(r.stdout, `${uid}\n/workspace\nws-ok\n`);
      assert.notEqual(uid, '0');
    });

    test('keeps /workspace across stop and start; stop ends running commands', async () => {
      const driver = stand.driver();
      const id = stand.id('life');
      const w = await sh(id, 'echo persisted > /workspace/keep.txt');
      assert.equal(w.exitCode, 0, w.stderr);
      // The runner keeps a workspace's files object across stops and starts (runner-context.ts).
      const kept = await driver.files(id);
      assert.equal((await kept.readFile('keep.txt')).toString(), 'persisted\n');
      const running = driver.exec(id, { argv: ['sh', '-c', 'echo started; sleep 3015'] });
      running.stderr.resume();
      // Running for sure: a stop that races the exec's own start is another question.
      await waitForOutput(running, 'started');
      running.stdout.resume();
      await driver.stop(id, { timeoutMs: 2000 });
      // Ended, not left running, and reported as killed (types.ts: stop is one of the ways).
      const ended = await running.done;
      assert.equal(ended.killed, true, JSON.stringify(ended));
      assert.notEqual(ended.exitCode, 0, JSON.stringify(ended));
      assert.equal(await driver.status(id), 'stopped');
      await assert.rejects(collect(driver.exec(id, { argv: ['true'] })), isCode('WORKLOAD_NOT_RUNNING'));
      await driver.stop(id);
      await driver.start(id);
      assert.equal(await driver.status(id), 'running');
      const r = await collect(driver.exec(id, { argv: ['cat', 'keep.txt'] }));
      assert.equal(r.stdout, 'persisted\n');
      const files = await driver.files(id);
      assert.equal((await files.readFile('keep.txt')).toString(), 'persisted\n');
      assert.equal(
        (await kept.readFile('keep.txt')).toString(),
        'persisted\n',
        'the files kept from before the stop',
      );
    });

    test('a stop racing commands as they start: each ends killed, or refused with a WorkloadError', async () => {
      const driver = stand.driver();
      const id = await stand.running('race');
      for (let round = 0; round < 4; round++) {
        // Some are still being made, some starting, some running when the stop comes.
        const handles = [];
        for (let i = 0; i < 6; i++) {
          handles.push(driver.exec(id, { argv: ['sh', '-c', 'echo up; sleep 3016'] }));
          await new Promise((r) => setTimeout(r, round * 15 * (i % 3)));
        }
        for (const h of handles) {
          h.stdout.resume();
          h.stderr.resume();
        }
        await driver.stop(id, { timeoutMs: 1000 });
        for (const outcome of await Promise.allSettled(handles.map((h) => h.done))) {
          if (outcome.status === 'fulfilled') {
            assert.equal(outcome.value.killed, true, JSON.stringify(outcome.value));
          } else {
            assert.ok(outcome.reason instanceof WorkloadError, String(outcome.reason));
          }
        }
        await driver.start(id);
      }
      await driver.remove(id, { keepData: false });
    });

    test('remove with keepData leaves the files for a later create; without, deletes them; both idempotent', async () => {
      const driver = stand.driver();
      const id = stand.id('keep');
      await driver.create(stand.spec(id));
      await driver.start(id);
      assert.equal((await sh(id, 'echo kept > k.txt')).exitCode, 0);
      await driver.remove(id, { keepData: true });
      assert.equal(await driver.status(id), 'missing');
      assert.ok(!(await driver.list()).includes(id));
      await driver.create(stand.spec(id));
      await driver.start(id);
      assert.equal((await sh(id, 'cat k.txt')).stdout, 'kept\n');
      await driver.remove(id, { keepData: false });
      assert.equal(await driver.status(id), 'missing');
      await driver.remove(id, { keepData: false });
      await driver.create(stand.spec(id));
      await driver.start(id);
      assert.equal((await sh(id, 'ls -A')).stdout, '', 'a new workload starts empty');
      await driver.remove(id, { keepData: false });
    });

    test('network: a workspace of its own network, or a clear refusal', async () => {
      const driver = stand.driver();
      const id = stand.id('net');
      const spec = stand.spec(id, { network: true, egressAllow: ['198.51.100.0/24:443'] });
      if (stand.lacks('network')) {
        await assert.rejects(driver.create(spec), isCode('DRIVER_UNAVAILABLE'));
        assert.equal(await driver.status(id), 'missing', 'nothing is made');
        return;
      }
      await driver.create(spec);
      await driver.start(id);
      const r = await sh(id, 'grep -c : /proc/net/dev');
      assert.equal(r.exitCode, 0, r.stderr);
      assert.ok(Number(r.stdout) >= 2, `an interface besides loopback: ${r.stdout}`);
      await driver.remove(id, { keepData: false });
      assert.equal(await driver.status(id), 'missing');
    });

    test('hostDir: binds an admin-chosen folder and removes only what it made, or a clear refusal', async () => {
      const driver = stand.driver();
      const parent = mkdtempSync(join(tmpdir(), 'keel-conform-hostdir-'));
      // The workload's user must be able to walk down to the folder.
      chmodSync(parent, 0o711);
      const dir = `${parent}/ws`;
      const id = stand.id('host');
      try {
        if (stand.lacks('hostDir')) {
          await assert.rejects(
            driver.create(stand.spec(id, { storage: { kind: 'hostDir', path: dir } })),
            isCode('DRIVER_UNAVAILABLE'),
          );
          assert.equal(await driver.status(id), 'missing', 'nothing is made');
          assert.equal(existsSync(dir), false);
          return;
        }
        await driver.create(stand.spec(id, { storage: { kind: 'hostDir', path: dir } }));
        await driver.start(id);
        const r = await sh(id, 'echo x > f && cat seeded 2>/dev/null || true');
        assert.equal(r.exitCode, 0, r.stderr);
        const owner = driver.fileOwner;
        if (owner) assert.equal(statSync(`${dir}/f`).uid, owner.uid);
        assert.equal((await (await driver.files(id)).readFile('f')).toString(), 'x\n');
        await driver.remove(id, { keepData: false });
        assert.equal(await driver.status(id), 'missing');
        assert.equal(existsSync(dir), false, 'the folder it made is gone');

        // A folder the admin made is kept, with its files.
        const own = `${parent}/own`;
        execFileSync('mkdir', ['-m', '0777', own]);
        writeFileSync(`${own}/seeded`, 'mine\n');
        execFileSync('chmod', ['0666', `${own}/seeded`]);
        await driver.create(stand.spec(id, { storage: { kind: 'hostDir', path: own } }));
        await driver.start(id);
        assert.equal((await sh(id, 'cat seeded')).stdout, 'mine\n');
        await driver.remove(id, { keepData: false });
        assert.equal(existsSync(`${own}/seeded`), true, 'an existing folder is the admin’s, not removed');
      } finally {
        rmSync(parent, { recursive: true, force: true });
      }
    });
  });

  describe('lifecycle (API, edge and runner)', () => {
    let rig: Rig;
    before(async () => {
      rig = await stand.rig();
    });

    test('the registered runner is listed online with its stats', async () => {
      const res = await rig.admin.request('GET', '/api/admin/runners', undefined, { bearer: true });
      assert.equal(res.status, 200);
      const r = res.body.runners.find((x: { id: string }) => x.id === rig.runner.runnerId);
      assert.equal(r.status, 'online');
      assert.equal(r.stats.driver, stand.kind);
      assert.ok(r.stats.cpus >= 1 && r.stats.memory.totalMb > 0);
      assert.deepEqual(r.drivers, [stand.kind]);
    });

    test('create → running; write, read, tree; stop keeps files; start; restart; delete', async () => {
      const c = rig.admin;
      const created = await c.request('POST', '/api/workspaces', { name: 'demo' }, { bearer: true });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.id;
      assert.match(id, /^ws_/);
      await rig.waitForStatus(c, id, 'running');

      const put = await c.request(
        'PUT',
        `/api/workspaces/${id}/files?path=src/app.ts`,
        { content: 'export const x = 1;\n' },
        { bearer: true },
      );
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const read = await c.request('GET', `/api/workspaces/${id}/files?path=src/app.ts`, undefined, {
        bearer: true,
      });
      assert.equal(read.body.content, 'export const x = 1;\n');
      assert.equal(read.body.sha256, put.body.sha256);

      const tree = await c.request('GET', `/api/workspaces/${id}/files/tree?path=`, undefined, {
        bearer: true,
      });
      assert.deepEqual(
        tree.body.entries.map((e: { name: string; type: string }) => [e.name, e.type]),
        [['src', 'directory']],
      );
      // The tree is cached; a write through Keel must invalidate it.
      await c.request('PUT', `/api/workspaces/${id}/files?path=NOTES.md`, { content: 'n' }, { bearer: true });
      const tree2 = await c.request('GET', `/api/workspaces/${id}/files/tree?path=`, undefined, {
        bearer: true,
      });
      assert.deepEqual(tree2.body.entries.map((e: { name: string }) => e.name).sort(), ['NOTES.md', 'src']);

      // A command that changes files invalidates the cached tree once it ends.
      await runToEnd(rig, c, id, 'touch made-by-command');
      const tree3 = await c.request('GET', `/api/workspaces/${id}/files/tree?path=`, undefined, {
        bearer: true,
      });
      assert.ok(tree3.body.entries.some((e: { name: string }) => e.name === 'made-by-command'));

      const binary = Buffer.from([0, 255, 1, 254, 10, 13]).toString('base64');
      await c.request(
        'PUT',
        `/api/workspaces/${id}/files?path=bin.dat`,
        { content: binary, encoding: 'base64' },
        { bearer: true },
      );
      const readBin = await c.request('GET', `/api/workspaces/${id}/files?path=bin.dat`, undefined, {
        bearer: true,
      });
      assert.equal(readBin.body.encoding, 'base64');
      assert.equal(readBin.body.content, binary);
      const raw = await rig.http(`/api/workspaces/${id}/files/raw?path=bin.dat`, {
        headers: { authorization: `Bearer ${c.accessToken}` },
      });
      assert.deepEqual(Buffer.from(await raw.arrayBuffer()), Buffer.from(binary, 'base64'));

      assert.equal(
        (await c.request('POST', `/api/workspaces/${id}/stop`, undefined, { bearer: true })).status,
        202,
      );
      await rig.waitForStatus(c, id, 'stopped');
      assert.equal(await rig.driver.status(id), 'stopped');
      assert.equal(
        (await c.request('POST', `/api/workspaces/${id}/start`, undefined, { bearer: true })).status,
        202,
      );
      await rig.waitForStatus(c, id, 'running');
      const after = await c.request('GET', `/api/workspaces/${id}/files?path=src/app.ts`, undefined, {
        bearer: true,
      });
      assert.equal(after.body.content, 'export const x = 1;\n', 'files survive stop/start');

      assert.equal(
        (await c.request('POST', `/api/workspaces/${id}/restart`, undefined, { bearer: true })).status,
        202,
      );
      await rig.waitForStatus(c, id, 'running');

      const logs = await c.request('GET', `/api/workspaces/${id}/logs`, undefined, { bearer: true });
      const texts = logs.body.lines.map((l: { text: string }) => l.text);
      // A status line may carry its reason ("stopping: saving a snapshot").
      for (const s of ['creating', 'running', 'stopping', 'stopped'])
        assert.ok(
          texts.some((t: string) => t === s || t.startsWith(`${s}: `)),
          `logs mention ${s}`,
        );

      const list = await c.request('GET', '/api/workspaces', undefined, { bearer: true });
      assert.ok(
        list.body.workspaces.some(
          (w: { id: string; status: string }) => w.id === id && w.status === 'running',
        ),
      );

      assert.equal(
        (await c.request('DELETE', `/api/workspaces/${id}`, undefined, { bearer: true })).status,
        202,
      );
      assert.equal(
        (await c.request('GET', `/api/workspaces/${id}`, undefined, { bearer: true })).status,
        404,
      );
      const listAfter = await c.request('GET', '/api/workspaces', undefined, { bearer: true });
      assert.equal(
        listAfter.body.workspaces.some((w: { id: string }) => w.id === id),
        false,
        'the cached list was invalidated',
      );
      await waitGone(rig, id);
    });

    test('deleting a workspace deletes what it left in Redis: command output, status, logs', async () => {
      const c = rig.admin;
      const ws = await c.request('POST', '/api/workspaces', { name: 'forget' }, { bearer: true });
      const id = ws.body.id as string;
      await rig.waitForStatus(c, id, 'running');
      const redis = rig.app.services.redis();
      const keys = runnerKeys(rig.app.services.config.redisPrefix, rig.runner.runnerId);
      // An execution from long before, whose output has expired: the next start drops it.
      await redis.zadd(keys.workspaceExecs(id), 1, 'exe_long_ago');
      const executionId = await runToEnd(rig, c, id, 'echo printed-by-a-command');
      assert.deepEqual(await redis.zrange(keys.workspaceExecs(id), 0, -1), [executionId]);
      const left = [
        keys.execStream(executionId),
        keys.execMeta(executionId),
        keys.workspaceExecs(id),
        keys.workspaceStatus(id),
        keys.workspaceLogs(id),
        keys.workspaceFilesVersion(id),
      ];
      assert.equal(await redis.exists(...left), left.length, 'the command left its output and more');
      assert.equal(
        (await c.request('DELETE', `/api/workspaces/${id}`, undefined, { bearer: true })).status,
        202,
      );
      await waitGone(rig, id);
      const deadline = Date.now() + 10_000;
      while ((await redis.exists(...left)) > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const still = [];
      for (const k of left) if (await redis.exists(k)) still.push(k);
      assert.deepEqual(still, [], 'nothing of the workspace is left in Redis');
    });

    describe('clone from git', () => {
      let repo: string;
      before(() => {
        repo = makeRepo();
      });
      after(() => rmSync(repo, { recursive: true, force: true }));

      test('clone from git: default branch, a named ref, progress in the logs', async () => {
        const c = rig.admin;
        const main = await c.request(
          'POST',
          '/api/workspaces',
          { name: 'clone', source: { type: 'git', url: `file://${repo}` } },
          { bearer: true },
        );
        assert.equal(main.status, 201);
        await rig.waitForStatus(c, main.body.id, 'running');
        const readme = await c.request(
          'GET',
          `/api/workspaces/${main.body.id}/files?path=README.md`,
          undefined,
          { bearer: true },
        );
        assert.equal(readme.body.content, '# demo\n');
        const logs = await c.request('GET', `/api/workspaces/${main.body.id}/logs`, undefined, {
          bearer: true,
        });
        assert.ok(logs.body.lines.some((l: { text: string }) => l.text.startsWith('cloning')));

        const feature = await c.request(
          'POST',
          '/api/workspaces',
          { name: 'clone-ref', source: { type: 'git', url: `file://${repo}`, ref: 'feature' } },
          { bearer: true },
        );
        await rig.waitForStatus(c, feature.body.id, 'running');
        const f = await c.request(
          'GET',
          `/api/workspaces/${feature.body.id}/files?path=feature.txt`,
          undefined,
          { bearer: true },
        );
        assert.equal(f.body.content, 'on a branch\n');
      });

      test('a bad clone URL or ref ends in failed with a readable reason, not a hang', async () => {
        const c = rig.admin;
        const badUrl = await c.request(
          'POST',
          '/api/workspaces',
          { name: 'bad-url', source: { type: 'git', url: `file://${repo}-missing` } },
          { bearer: true },
        );
        const s1 = await rig.waitForStatus(c, badUrl.body.id, 'failed', 30_000);
        assert.match(s1.reason, /clone failed/);
        const badRef = await c.request(
          'POST',
          '/api/workspaces',
          { name: 'bad-ref', source: { type: 'git', url: `file://${repo}`, ref: 'no-such-branch' } },
          { bearer: true },
        );
        const s2 = await rig.waitForStatus(c, badRef.body.id, 'failed', 30_000);
        assert.match(s2.reason, /no-such-branch|did not match|pathspec/);
      });
    });
  });
}

/** A small git repository with two branches, to clone from a file:// URL. */
function makeRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keel-repo-'));
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
      cwd: dir,
      stdio: 'ignore',
    });
  git('init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'README.md'), '# demo\n');
  git('add', '.');
  git('commit', '-qm', 'first');
  git('checkout', '-q', '-b', 'feature');
  writeFileSync(join(dir, 'feature.txt'), 'on a branch\n');
  git('add', '.');
  git('commit', '-qm', 'feature');
  git('checkout', '-q', 'main');
  execFileSync('chmod', ['-R', 'a+rX', dir]);
  return dir;
}
