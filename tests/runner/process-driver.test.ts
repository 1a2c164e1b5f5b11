import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { after, before, describe, it } from 'node:test';
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

// What every driver does (status, exec, kill, files, storage, escapes) is in tests/drivers: this is the bubblewrap side of it.
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
    await driver.start(id);
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

  it('sandboxes commands: unprivileged, no network, read-only system, only /workspace writable', async () => {
    // A folder the sandbox user could read on the host: only the sandbox's own view hides it.
    const secret = `${base}/host-secret`;
    mkdirSync(secret, { mode: 0o755 });
    writeFileSync(`${secret}/data`, 'host data\n', { mode: 0o644 });
    if (isRoot) execFileSync('chown', ['-R', '1000:1000', secret]);
    const r = await collect(
      driver.exec(id, {
        argv: [
          'sh',
          '-c',
          'id -u; echo "$PWD $HOME"; ls /proc/net/ >/dev/null; grep -c : /proc/net/dev; ' +
            `cat ${secret}/data 2>/dev/null || echo secret-hidden; ` +
            'awk \'$5 == "/usr" { print $6 }\' /proc/self/mountinfo; ' +
            'touch /usr/x 2>/dev/null && echo usr-writable; ls /root 2>/dev/null && echo root-visible; ' +
            'test -e /var/lib && echo var-visible; touch /workspace/ok && echo ws-ok',
        ],
      }),
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const [uid, dirs, ifaces, hidden, usrOptions, ...rest] = r.stdout.trim().split('\n');
    assert.equal(uid, isRoot ? '1000' : String(process.getuid?.()));
    assert.equal(dirs, '/workspace /home/keel');
    assert.equal(ifaces, '1', 'only the loopback interface');
    assert.equal(hidden, 'secret-hidden', 'a host folder the user may read is not in the sandbox');
    assert.match(usrOptions ?? '', /^ro,/, '/usr is mounted read-only');
    assert.deepEqual(rest, ['ws-ok']);
    if (isRoot) assert.equal(statSync(`${await driver.workspaceRoot(id)}/ok`).uid, 1000);
  });

  it('refuses nested user namespaces and the syscalls Docker’s default profile refuses', async () => {
    const python = `import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def call(name, nr, *args):
    r = libc.syscall(nr, *[ctypes.c_long(a) for a in args])
    print(name, 'ok' if r >= 0 else os.strerror(ctypes.get_errno()))
call('mount', 165, 0, 0, 0, 0, 0)
call('io_uring_setup', 425, 0, 0)
call('keyctl', 250, 0, -3, 0)
call('personality', 135, 0x0040000)
call('clone3', 435, 0, 0)
call('unshare', 272, 0x10000000)
call('getpid', 39)`;
    const r = await collect(
      driver.exec(id, {
        argv: [
          'bash',
          '-c',
          'unshare -r id >/dev/null 2>&1 && echo userns-made; grep "^Seccomp:" /proc/self/status; ' +
            'git --version >/dev/null && echo git-ok; ls / >/dev/null && echo ls-ok; ' +
            "(command -v node >/dev/null && node -e \"require('fs').readdirSync('/'); console.log('node-ok')\") || echo node-ok; " +
            'command -v python3 >/dev/null && python3 -c "$0"',
          python,
        ],
      }),
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 4), ['Seccomp:\t2', 'git-ok', 'ls-ok', 'node-ok']);
    if (lines.length > 4) {
      assert.deepEqual(lines.slice(4), [
        'mount Operation not permitted',
        'io_uring_setup Operation not permitted',
        'keyctl Operation not permitted',
        'personality Operation not permitted',
        'clone3 Function not implemented',
        'unshare Operation not permitted',
        'getpid ok',
      ]);
    }
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

  it('stop ends the commands it kills with killed: true', async () => {
    const running = driver.exec(id, { argv: ['sleep', '3015'] });
    await driver.stop(id);
    assert.equal((await running.done).killed, true);
    assert.equal(await driver.status(id), 'stopped');
    await driver.start(id);
  });
});

describe('process driver: a workspace network’s life (real namespaces, slirp4netns)', {
  skip: !isRoot && 'needs root',
}, () => {
  let base: string;
  const nid = 'pwnet';
  const spec: WorkloadSpec = {
    workspaceId: nid,
    cpus: 0.5,
    memoryMb: 96,
    network: true,
    storage: { kind: 'volume' },
  };
  const namespaces = () => readdirSync('/run/netns').filter((n) => n.endsWith(`-${nid}`));

  before(() => {
    base = mkdtempSync('/tmp/keel-procnet-');
    chmodSync(base, 0o711);
  });

  after(async () => {
    await new ProcessDriver({ root: `${base}/root` }).remove(nid, { keepData: false }).catch(() => {});
    rmSync(base, { recursive: true, force: true });
  });

  it('a runner restart finds the namespace and its slirp4netns again; stop removes both', async () => {
    const first = new ProcessDriver({ root: `${base}/root` });
    await first.create(spec);
    await first.start(nid);
    const [name] = namespaces();
    assert.ok(name, 'a named namespace for the workspace');
    const slirp = hostProcesses(`slirp4netns .*/run/netns/${name} tap0`);
    assert.match(slirp, /slirp4netns/);

    // What a restarted runner has: the same root, nothing in memory.
    const second = new ProcessDriver({ root: `${base}/root` });
    const r = await collect(
      second.exec(nid, { argv: ['sh', '-c', 'grep -c : /proc/net/dev; cat /etc/resolv.conf'] }),
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, '2\nnameserver 10.0.2.3\n', 'loopback and tap0; slirp’s resolver');
    assert.equal(
      hostProcesses(`slirp4netns .*/run/netns/${name} tap0`),
      slirp,
      'the same slirp4netns, not a second one',
    );
    await second.start(nid);
    assert.equal(hostProcesses(`slirp4netns .*/run/netns/${name} tap0`), slirp);

    await second.stop(nid);
    assert.deepEqual(namespaces(), []);
    assert.equal(hostProcesses(`slirp4netns .*/run/netns/${name} tap0`), '');
    await second.start(nid);
    assert.equal(namespaces().length, 1, 'start makes it again');
    await second.remove(nid, { keepData: false });
    assert.deepEqual(namespaces(), []);
  });

  it('a runner that is not root refuses a workspace with network, and makes nothing', () => {
    const root = `${base}/nonroot`;
    const script = `import { ProcessDriver } from ${JSON.stringify(new URL('../../runners/src/workloads/process.ts', import.meta.url).pathname)};
const d = new ProcessDriver({ root: ${JSON.stringify(root)}, cgroups: false });
const spec = ${JSON.stringify({ ...spec, workspaceId: 'pwnr' })};
await d.create({ ...spec, network: false, workspaceId: 'pwok' });
try { await d.create(spec); console.log('created'); } catch (e) { console.log(e.code, e.message); }`;
    mkdirSync(root, { mode: 0o777 });
    chmodSync(root, 0o777);
    const out = execFileSync(
      'setpriv',
      [
        '--reuid=1000',
        '--regid=1000',
        '--clear-groups',
        '--',
        process.execPath,
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        script,
      ],
      { cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8' },
    );
    assert.match(out, /^DRIVER_UNAVAILABLE workspaces with network need a runner running as root/);
    assert.equal(existsSync(`${root}/pwok/state.json`), true, 'a workspace without network is fine');
    assert.equal(existsSync(`${root}/pwnr`), false);
  });
});
