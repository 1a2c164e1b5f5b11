import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { readFile } from '../../runners/src/files/confined-fs.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import { WorkloadError, type WorkloadSpec } from '../../runners/src/workloads/types.ts';
import { collect, waitForOutput } from './exec-util.ts';

const isRoot = process.getuid?.() === 0;

/** Host processes whose command line matches, other than pgrep itself. */
function hostProcesses(pattern: string): string {
  try {
    return execFileSync('pgrep', ['-a', '-f', pattern], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

describe('process driver (real bubblewrap)', () => {
  let base: string;
  let driver: ProcessDriver;
  const id = 'pw1';
  const spec = (over: Partial<WorkloadSpec> = {}): WorkloadSpec => ({
    workspaceId: id,
    cpus: 0.5,
    memoryMb: 96,
    pidsLimit: 32,
    network: false,
    storage: { kind: 'volume' },
    ...over,
  });

  before(async () => {
    base = mkdtempSync('/tmp/keel-proc-');
    // The sandbox user must be able to reach its workspace below this folder.
    chmodSync(base, 0o711);
    driver = new ProcessDriver({ root: `${base}/root` });
    await driver.create(spec());
  });

  after(async () => {
    for (const w of await driver.list()) await driver.remove(w, { keepData: false });
    rmSync(base, { recursive: true, force: true });
  });

  it('refuses to construct without bubblewrap unless explicitly allowed', () => {
    assert.throws(
      () => new ProcessDriver({ root: `${base}/x`, bwrapPath: '/nonexistent/bwrap' }),
      (e: unknown) => e instanceof WorkloadError && /allowUnsandboxed/.test(e.message),
    );
    const unsafe = new ProcessDriver({
      root: `${base}/x`,
      bwrapPath: '/nonexistent/bwrap',
      allowUnsandboxed: true,
    });
    assert.equal(unsafe.sandboxed, false);
  });

  it('probes that this host can create sandboxes', async () => {
    await driver.probe();
  });

  it('tracks status through a state file; exec only while started', async () => {
    assert.equal(await driver.status(id), 'stopped');
    assert.equal(await driver.status('nope'), 'missing');
    await assert.rejects(collect(driver.exec(id, { argv: ['true'] })), (e: unknown) => {
      return e instanceof WorkloadError && e.code === 'WORKLOAD_NOT_RUNNING';
    });
    await driver.start(id);
    assert.equal(await driver.status(id), 'running');
    assert.deepEqual(await driver.list(), [id]);
  });

  it('sandboxes commands: unprivileged, no network, read-only system, only /workspace writable', async () => {
    const r = await collect(
      driver.exec(id, {
        argv: [
          'sh',
          '-c',
          'id -u; echo "$PWD $HOME"; ls /proc/net/ >/dev/null; grep -c : /proc/net/dev; ' +
            'touch /usr/x 2>/dev/null && echo usr-writable; ls /root 2>/dev/null && echo root-visible; ' +
            'test -e /var/lib && echo var-visible; touch /workspace/ok && echo ws-ok',
        ],
      }),
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const [uid, dirs, ifaces, ...rest] = r.stdout.trim().split('\n');
    assert.equal(uid, isRoot ? '1000' : String(process.getuid?.()));
    assert.equal(dirs, '/workspace /home/keel');
    assert.equal(ifaces, '1', 'only the loopback interface');
    assert.deepEqual(rest, ['ws-ok']);
    if (isRoot) assert.equal(statSync(`${await driver.workspaceRoot(id)}/ok`).uid, 1000);
  });

  it('streams stdout and stderr live and reports exit codes and env', async () => {
    const h = driver.exec(id, {
      argv: ['sh', '-c', 'echo first; echo oops >&2; sleep 0.6; echo "$GREETING"; exit 7'],
      env: { GREETING: 'hi' },
    });
    let firstAt = 0;
    h.stdout.once('data', () => {
      firstAt = Date.now();
    });
    const r = await collect(h);
    assert.equal(r.exitCode, 7);
    assert.equal(r.stdout, 'first\nhi\n');
    assert.equal(r.stderr, 'oops\n');
    assert.ok(firstAt > 0 && Date.now() - firstAt >= 400, 'first line arrived before the command ended');
  });

  it('kills at the timeout, and kill() leaves no process of the tree on the host', async () => {
    const t = await collect(driver.exec(id, { argv: ['sleep', '30'], timeoutMs: 400 }));
    assert.equal(t.timedOut, true);
    assert.equal(t.exitCode, null);

    const h = driver.exec(id, {
      argv: [
        'bash',
        '-c',
        'sleep 3011 & (setsid sleep 3012 &); nohup sleep 3013 >/dev/null 2>&1 & echo started; sleep 3014',
      ],
    });
    await waitForOutput(h, 'started');
    assert.match(hostProcesses('sleep 301[1-4]'), /sleep 3012/);
    await h.kill();
    assert.equal((await h.done).killed, true);
    assert.equal(hostProcesses('sleep 301[1-4]'), '');
  });

  it('enforces memory and pids limits through cgroups when the runner is root', async (t) => {
    const enforced = await driver.enforcedLimits(id);
    if (!isRoot || !enforced.includes('memory') || !enforced.includes('pids')) {
      t.skip(`cgroup limits not available here (enforced: ${enforced.join(',') || 'none'})`);
      return;
    }
    const mem = await collect(
      driver.exec(id, { argv: ['sh', '-c', 'head -c 300000000 /dev/zero | tail >/dev/null; echo "rc=$?"'] }),
    );
    assert.match(mem.stdout, /rc=137/, 'the memory hog was OOM-killed');
    const pids = await collect(
      driver.exec(id, {
        argv: ['sh', '-c', 'i=0; while [ $i -lt 100 ]; do sleep 1 & i=$((i+1)); done; echo all-forked'],
        timeoutMs: 20_000,
      }),
    );
    assert.doesNotMatch(pids.stdout, /all-forked/);
    assert.match(pids.stderr, /fork/i);
  });

  it('stop kills a process that left the command’s process group, instead of waiting on it', async (t) => {
    // Unsandboxed, nothing but the workspace's cgroup follows a process into a session of its own.
    const loose = new ProcessDriver({
      root: `${base}/loose`,
      allowUnsandboxed: true,
      bwrapPath: '/nonexistent',
    });
    await loose.create(spec({ workspaceId: 'pw3' }));
    await loose.start('pw3');
    try {
      if (!isRoot || !(await loose.enforcedLimits('pw3')).includes('pids')) {
        t.skip('no cgroup for the workspace here');
        return;
      }
      const h = loose.exec('pw3', { argv: ['sh', '-c', 'setsid sleep 3017 & echo started'] });
      await waitForOutput(h, 'started');
      const stopped = loose.stop('pw3').then(() => 'stopped');
      const limit = new Promise((r) => setTimeout(() => r('still waiting'), 10_000).unref());
      assert.equal(await Promise.race([stopped, limit]), 'stopped');
      assert.equal((await h.done).killed, true);
      assert.equal(hostProcesses('sleep 3017'), '');
    } finally {
      // Should the stop have left it, the test must still end.
      try {
        execFileSync('pkill', ['-f', 'sleep 3017']);
      } catch {}
      await loose.remove('pw3', { keepData: false });
    }
  });

  it('keeps files across stop/start; remove deletes only what it created', async () => {
    await collect(driver.exec(id, { argv: ['sh', '-c', 'echo persisted > keep.txt'] }));
    const running = driver.exec(id, { argv: ['sleep', '3015'] });
    await driver.stop(id);
    assert.equal((await running.done).killed, true, 'stop kills running commands');
    assert.equal(await driver.status(id), 'stopped');
    await driver.start(id);
    const r = await collect(driver.exec(id, { argv: ['cat', 'keep.txt'] }));
    assert.equal(r.stdout, 'persisted\n');
    assert.equal((await readFile(await driver.workspaceRoot(id), 'keep.txt')).toString(), 'persisted\n');

    const hostDir = `${base}/admin-folder`;
    await driver.create(spec({ workspaceId: 'pw2', storage: { kind: 'hostDir', path: hostDir } }));
    assert.equal(await driver.workspaceRoot('pw2'), hostDir);
    await driver.remove('pw2', { keepData: false });
    assert.equal(existsSync(hostDir), false);
    assert.equal(await driver.status('pw2'), 'missing');
  });
});
