import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bullPrefixOf, runnerKeys } from '@keel/contract/keys';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { Queue } from 'bullmq';
import type { BrowserClient } from '../harness/browser-client.ts';
import { waitFor } from '../harness/ports.ts';
import { DRIVER_KINDS, type Rig, readSse, startRig } from '../harness/runner-rig.ts';

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

for (const kind of DRIVER_KINDS) {
  describe(`workspaces end to end (${kind} driver)`, () => {
    let rig: Rig;
    let repo: string;
    before(async () => {
      rig = await startRig(kind);
      repo = makeRepo();
    });
    after(async () => {
      await rig.close();
      rmSync(repo, { recursive: true, force: true });
    });

    test('the registered runner is listed online with its stats', async () => {
      const res = await rig.admin.request('GET', '/api/admin/runners', undefined, { bearer: true });
      assert.equal(res.status, 200);
      const r = res.body.runners.find((x: { id: string }) => x.id === rig.runner.runnerId);
      assert.equal(r.status, 'online');
      assert.equal(r.stats.driver, kind);
      assert.ok(r.stats.cpus >= 1 && r.stats.memory.totalMb > 0);
      assert.deepEqual(r.drivers, [kind]);
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
      for (const s of ['creating', 'running', 'stopping', 'stopped'])
        assert.ok(texts.includes(s), `logs mention ${s}`);

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

    test('execute: live stdout/stderr and exit code over SSE; Last-Event-ID resumes exactly', async () => {
      const c = rig.admin;
      const ws = await c.request('POST', '/api/workspaces', { name: 'exec' }, { bearer: true });
      await rig.waitForStatus(c, ws.body.id, 'running');
      const run = await c.request(
        'POST',
        `/api/workspaces/${ws.body.id}/execute`,
        { command: 'for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2; pwd; exit 7' },
        { bearer: true },
      );
      assert.equal(run.status, 202);
      const url = `/api/workspaces/${ws.body.id}/executions/${run.body.executionId}/events`;
      const auth = { authorization: `Bearer ${c.accessToken}` };
      const all = await readSse(await rig.http(url, { headers: auth }));
      const exit = all.at(-1)!;
      assert.equal(exit.event, 'exit');
      assert.deepEqual(JSON.parse(exit.data), { exitCode: 7 });
      const stdout = all
        .filter((e) => e.event === 'stdout')
        .map((e) => e.data)
        .join('');
      assert.equal(stdout, 'line1\nline2\nline3\nline4\nline5\n/workspace\n');
      assert.equal(
        all
          .filter((e) => e.event === 'stderr')
          .map((e) => e.data)
          .join(''),
        'oops\n',
      );
      assert.ok(
        all.every((e) => e.id),
        'every event has an id',
      );

      // Reconnect after the first event: exactly the rest, nothing doubled.
      const rest = await readSse(await rig.http(url, { headers: { ...auth, 'last-event-id': all[0]!.id! } }));
      assert.deepEqual(rest, all.slice(1));
    });

    test('large output arrives complete and in order', async () => {
      const c = rig.admin;
      const ws = await c.request('POST', '/api/workspaces', { name: 'bulk' }, { bearer: true });
      await rig.waitForStatus(c, ws.body.id, 'running');
      // 200,000 numbered lines (about 1.3 MB): any loss, reordering or duplication shows.
      const run = await c.request(
        'POST',
        `/api/workspaces/${ws.body.id}/execute`,
        { command: 'seq 1 200000' },
        { bearer: true },
      );
      const events = await readSse(
        await rig.http(`/api/workspaces/${ws.body.id}/executions/${run.body.executionId}/events`, {
          headers: { authorization: `Bearer ${c.accessToken}` },
        }),
      );
      const text = events
        .filter((e) => e.event === 'stdout')
        .map((e) => e.data)
        .join('');
      const lines = text.split('\n');
      assert.equal(lines.length, 200_001);
      assert.equal(lines[0], '1');
      assert.equal(lines[199_999], '200000');
      assert.ok(lines.slice(0, -1).every((l, i) => l === String(i + 1)));
    });

    test('a command delivered twice (a runner died before the job was marked done) runs once', async () => {
      const c = rig.admin;
      const ws = await c.request('POST', '/api/workspaces', { name: 'once' }, { bearer: true });
      await rig.waitForStatus(c, ws.body.id, 'running');
      const job = {
        v: CONTRACT_VERSION,
        type: 'exec.start' as const,
        workspaceId: ws.body.id as string,
        executionId: 'exe_twicedeliveredaaaaa',
        argv: ['sh', '-c', 'echo ran >> runs.txt'],
        timeoutMs: 10_000,
      };
      // No job id: BullMQ treats these as two jobs, as it does a redelivered stalled job.
      const ids = [
        await rig.app.services.queue.enqueue(rig.credential.queueName, job, { attempts: 1 }),
        await rig.app.services.queue.enqueue(rig.credential.queueName, job, { attempts: 1 }),
      ];
      // Waits until both deliveries were handled, not for a guessed time: each job finished,
      // the second as a duplicate, and the one run wrote its exit to the stream.
      const queue = new Queue(rig.credential.queueName, {
        connection: rig.app.services.redis(),
        prefix: bullPrefixOf(rig.app.services.config.redisPrefix),
      });
      try {
        const results = await waitFor('both deliveries to be handled', async () => {
          const done = await Promise.all(ids.map((id) => queue.getJob(id)));
          const finished = done.every((j) => j?.finishedOn !== undefined);
          return finished ? done.map((j) => j?.returnvalue) : undefined;
        });
        assert.deepEqual(
          results,
          [
            { ok: true, result: { started: true } },
            { ok: true, result: { started: false, duplicate: true } },
          ],
          'the first delivery ran the command, the second saw it claimed',
        );
      } finally {
        await queue.close();
      }
      const keys = runnerKeys(rig.app.services.config.redisPrefix, rig.runner.runnerId);
      await waitFor('the one run to end', async () => {
        const entries = await rig.app.services.redis().xrange(keys.execStream(job.executionId), '-', '+');
        return entries.some(([, f]) => f[1] === 'exit') ? true : undefined;
      });
      const runs = await c.request('GET', `/api/workspaces/${ws.body.id}/files?path=runs.txt`, undefined, {
        bearer: true,
      });
      assert.equal(runs.body.content, 'ran\n');
    });

    test('cancel kills the whole command', async () => {
      const c = rig.admin;
      const ws = await c.request('POST', '/api/workspaces', { name: 'cancel' }, { bearer: true });
      await rig.waitForStatus(c, ws.body.id, 'running');
      const run = await c.request(
        'POST',
        `/api/workspaces/${ws.body.id}/execute`,
        { command: 'sleep 300 & sleep 300; echo never' },
        { bearer: true },
      );
      const url = `/api/workspaces/${ws.body.id}/executions/${run.body.executionId}/events`;
      // The command says nothing until it ends: its stream still opens at once, well before
      // the first keep-alive (5 s), so a browser shows it running.
      const opened = await Promise.race([
        rig.http(url, { headers: { authorization: `Bearer ${c.accessToken}` } }),
        new Promise<'not yet'>((r) => setTimeout(() => r('not yet'), 2_500)),
      ]);
      assert.notEqual(opened, 'not yet', 'the stream opened before any output');
      assert.equal((opened as Response).headers.get('content-type'), 'text/event-stream');
      const events = readSse(opened as Response);
      await new Promise((r) => setTimeout(r, 500));
      const cancel = await c.request(
        'POST',
        `/api/workspaces/${ws.body.id}/executions/${run.body.executionId}/cancel`,
        undefined,
        {
          bearer: true,
        },
      );
      assert.equal(cancel.status, 202);
      const got = await events;
      const exit = JSON.parse(got.at(-1)!.data);
      assert.equal(exit.cancelled, true);
      assert.equal(
        got.some((e) => e.data.includes('never')),
        false,
      );
      const ps = await c.request(
        'POST',
        `/api/workspaces/${ws.body.id}/execute`,
        { command: 'ps -eo args | grep -c "^sleep 300" || true' },
        { bearer: true },
      );
      const out = await readSse(
        await rig.http(`/api/workspaces/${ws.body.id}/executions/${ps.body.executionId}/events`, {
          headers: { authorization: `Bearer ${c.accessToken}` },
        }),
      );
      assert.equal(
        out
          .filter((e) => e.event === 'stdout')
          .map((e) => e.data)
          .join('')
          .trim(),
        '0',
        'no sleep survived',
      );
    });

    test('a command timeout ends it with timedOut', async () => {
      const c = rig.admin;
      const ws = await c.request('POST', '/api/workspaces', { name: 'timeout' }, { bearer: true });
      await rig.waitForStatus(c, ws.body.id, 'running');
      const run = await c.request(
        'POST',
        `/api/workspaces/${ws.body.id}/execute`,
        { command: ['sleep', '30'], timeoutMs: 500 },
        { bearer: true },
      );
      const got = await readSse(
        await rig.http(`/api/workspaces/${ws.body.id}/executions/${run.body.executionId}/events`, {
          headers: { authorization: `Bearer ${c.accessToken}` },
        }),
      );
      assert.equal(JSON.parse(got.at(-1)!.data).timedOut, true);
    });
  });
}

/** Runs `command` in the workspace and reads its output to the exit; its execution id. */
async function runToEnd(rig: Rig, c: BrowserClient, id: string, command: string): Promise<string> {
  const run = await c.request('POST', `/api/workspaces/${id}/execute`, { command }, { bearer: true });
  await readSse(
    await rig.http(`/api/workspaces/${id}/executions/${run.body.executionId}/events`, {
      headers: { authorization: `Bearer ${c.accessToken}` },
    }),
  );
  return run.body.executionId;
}

async function waitGone(rig: Rig, id: string) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if ((await rig.driver.status(id)) === 'missing') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`workspace ${id} was not removed by the runner`);
}
