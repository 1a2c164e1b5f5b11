/*
 * Commands: live output, exit codes, environment, timeouts and kills through the driver; over
 * the API, the SSE stream with resume by Last-Event-ID, large output, cancel and timeouts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { bullPrefixOf, runnerKeys } from '@keel/contract/keys';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { Queue } from 'bullmq';
import { waitFor } from '../../harness/ports.ts';
import { type Rig, readSse } from '../../harness/runner-rig.ts';
import { collect, waitForOutput } from '../../runner/exec-util.ts';
import { executionEvents, runningWorkspace } from './api.ts';
import type { Stand } from './stand.ts';

/**
 * `sleep` processes on this machine whose command line matches (every target runs its workloads
 * here in tests): the shell that started them, whose command line names them too, is left out.
 */
function hostSleeps(pattern: string): string[] {
  let out = '';
  try {
    out = execFileSync('pgrep', ['-a', '-f', pattern], { encoding: 'utf8' });
  } catch {}
  return out.split('\n').filter((line) => /^\d+ sleep /.test(line));
}

export function execSuite(stand: Stand): void {
  describe('exec (driver)', () => {
    let id: string;
    before(async () => {
      id = await stand.running('exec');
    });

    test('streams stdout and stderr separately and live; exit code, env and cwd', async () => {
      const driver = stand.driver();
      assert.equal((await collect(driver.exec(id, { argv: ['mkdir', '-p', 'sub'] }))).exitCode, 0);
      const h = driver.exec(id, {
        argv: ['sh', '-c', 'echo first; echo oops >&2; sleep 0.6; echo "$GREETING $PWD"; exit 7'],
        cwd: 'sub/..',
        env: { GREETING: 'hi' },
      });
      let firstAt = 0;
      h.stdout.once('data', () => {
        firstAt = Date.now();
      });
      const r = await collect(h);
      const doneAt = Date.now();
      assert.equal(r.exitCode, 7);
      assert.equal(r.stdout, 'first\nhi /workspace\n');
      assert.equal(r.stderr, 'oops\n');
      assert.ok(firstAt > 0 && doneAt - firstAt >= 400, 'first line arrived before the command ended');

      const inSub = await collect(driver.exec(id, { argv: ['sh', '-c', 'echo "$PWD"'], cwd: 'sub' }));
      assert.equal(inSub.stdout, '/workspace/sub\n');
    });

    test('kills a command at its timeout', async () => {
      const t0 = Date.now();
      const r = await collect(stand.driver().exec(id, { argv: ['sleep', '30'], timeoutMs: 500 }));
      assert.equal(r.timedOut, true);
      assert.equal(r.exitCode, null);
      assert.ok(Date.now() - t0 < 5000);
    });

    test('kill() ends the whole process tree: background, setsid, nohup, env-less and TERM-proof descendants', async () => {
      const driver = stand.driver();
      // Durations unique to this run: other runs on this machine may sleep at the same time.
      const tag = `${process.pid % 100000}`;
      const s = (n: number) => `sleep 302${n}.${tag}`;
      const h = driver.exec(id, {
        argv: [
          'bash',
          '-c',
          `${s(1)} & ${s(2)} & (setsid ${s(3)} &); env -u KEEL_EXEC_ID ${s(4)} & ` +
            `(trap "" TERM; ${s(5)}) & nohup ${s(6)} >/dev/null 2>&1 & ` +
            `sleep 0.3; ps -eo args | grep -c "^sleep 302[1-6].${tag}"; echo started; ${s(7)}`,
        ],
      });
      const collected = collect(h);
      await waitForOutput(h, 'started');
      const pattern = `sleep 302[1-7][.]${tag}`;
      assert.equal(hostSleeps(pattern).length, 7, hostSleeps(pattern).join('\n'));
      await h.kill();
      const res = await collected;
      assert.equal(res.killed, true);
      assert.equal(res.stdout, '6\nstarted\n', 'the command saw its six descendants');
      const ps = await collect(driver.exec(id, { argv: ['ps', '-eo', 'args'] }));
      assert.doesNotMatch(ps.stdout, new RegExp(pattern));
      await waitFor(
        'no process of the tree on this machine',
        async () => hostSleeps(pattern).length === 0 || undefined,
        5_000,
      );
      assert.equal(await driver.status(id), 'running', 'the workspace itself keeps running');
      assert.equal((await collect(driver.exec(id, { argv: ['echo', 'alive'] }))).stdout, 'alive\n');
    });
  });

  describe('exec (API, edge and runner)', () => {
    let rig: Rig;
    before(async () => {
      rig = await stand.rig();
    });

    test('execute: live stdout/stderr and exit code over SSE; Last-Event-ID resumes exactly', async () => {
      const c = rig.admin;
      const ws = await runningWorkspace(rig, 'exec');
      const run = await c.request(
        'POST',
        `/api/workspaces/${ws}/execute`,
        { command: 'for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2; pwd; exit 7' },
        { bearer: true },
      );
      assert.equal(run.status, 202);
      const url = `/api/workspaces/${ws}/executions/${run.body.executionId}/events`;
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
      const ws = await runningWorkspace(rig, 'bulk');
      // 200,000 numbered lines (about 1.3 MB): any loss, reordering or duplication shows.
      const run = await c.request(
        'POST',
        `/api/workspaces/${ws}/execute`,
        { command: 'seq 1 200000' },
        { bearer: true },
      );
      const events = await executionEvents(rig, c, ws, run.body.executionId);
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
      const ws = await runningWorkspace(rig, 'once');
      const job = {
        v: CONTRACT_VERSION,
        type: 'exec.start' as const,
        workspaceId: ws,
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
      const runs = await c.request('GET', `/api/workspaces/${ws}/files?path=runs.txt`, undefined, {
        bearer: true,
      });
      assert.equal(runs.body.content, 'ran\n');
    });

    test('cancel kills the whole command', async () => {
      const c = rig.admin;
      const ws = await runningWorkspace(rig, 'cancel');
      const run = await c.request(
        'POST',
        `/api/workspaces/${ws}/execute`,
        { command: 'sleep 300 & sleep 300; echo never' },
        { bearer: true },
      );
      const url = `/api/workspaces/${ws}/executions/${run.body.executionId}/events`;
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
        `/api/workspaces/${ws}/executions/${run.body.executionId}/cancel`,
        undefined,
        { bearer: true },
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
        `/api/workspaces/${ws}/execute`,
        { command: 'ps -eo args | grep -c "^sleep 300" || true' },
        { bearer: true },
      );
      const out = await executionEvents(rig, c, ws, ps.body.executionId);
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
      const ws = await runningWorkspace(rig, 'timeout');
      const run = await c.request(
        'POST',
        `/api/workspaces/${ws}/execute`,
        { command: ['sleep', '30'], timeoutMs: 500 },
        { bearer: true },
      );
      const got = await executionEvents(rig, c, ws, run.body.executionId);
      assert.equal(JSON.parse(got.at(-1)!.data).timedOut, true);
    });
  });
}
