/**
 * The process driver's command host (runners/src/workloads/command-host.ts): a workspace's
 * commands start from one long-lived process inside its sandbox instead of a sandbox each. These
 * tests hold it to the sandbox's promises (the same user, seccomp, no_new_privs, cgroup and
 * namespaces for every command; no channel of the runner's reachable from a command) and attack
 * the FIFO folder the sandbox user can write to.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  constants,
  linkSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { CommandHost, openFifo } from '../../runners/src/workloads/command-host.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import type { WorkloadSpec } from '../../runners/src/workloads/types.ts';
import { collect } from './exec-util.ts';

const isRoot = process.getuid?.() === 0;

describe('process driver: one command host per workspace', { skip: !isRoot && 'needs root' }, () => {
  let base: string;
  let driver: ProcessDriver;
  const id = 'chost';
  const spec: WorkloadSpec = {
    workspaceId: id,
    cpus: 1,
    memoryMb: 256,
    network: false,
    storage: { kind: 'volume' },
  };
  const sh = (script: string, extra: { timeoutMs?: number } = {}) =>
    collect(driver.exec(id, { argv: ['sh', '-c', script], ...extra }));
  /** The host's pid and start time: the parent of every command's waiter. */
  const hostPid = async () => (await sh('h=$(ps -o ppid= -p $PPID); ps -o pid=,lstart= -p $h')).stdout.trim();

  before(async () => {
    base = mkdtempSync('/tmp/keel-chost-');
    chmodSync(base, 0o711);
    driver = new ProcessDriver({ root: `${base}/root` });
    await driver.create(spec);
    await driver.start(id);
  });

  after(async () => {
    await driver.remove(id, { keepData: false }).catch(() => {});
    rmSync(base, { recursive: true, force: true });
  });

  it('runs every command from the same host, inside the same sandbox', async () => {
    const first = await hostPid();
    assert.match(first, /^\d+ \w+/);
    const r = await sh(
      'echo made > /tmp/mark; id -u; grep -E "^(NoNewPrivs|Seccomp|CapEff):" /proc/self/status; ls /proc/self/fd',
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], '1000');
    assert.match(r.stdout, /^NoNewPrivs:\s+1$/m);
    assert.match(r.stdout, /^Seccomp:\s+2$/m);
    assert.match(r.stdout, /^CapEff:\s+0+$/m);
    // Only its stdio (and ls's own directory handle): neither the host's requests nor its replies.
    assert.deepEqual(lines.slice(4).sort(), ['0', '1', '2', '3']);
    // The same host, and the same sandbox (its /tmp), for the next command.
    assert.equal(await hostPid(), first);
    assert.equal((await sh('cat /tmp/mark')).stdout, 'made\n');
    // Refused as in any sandbox of the driver's: no new user namespace.
    const nested = await sh('unshare -U true');
    assert.notEqual(nested.exitCode, 0);
  });

  it('carries argv, cwd, environment and stdin exactly', async () => {
    await sh('mkdir -p "sub dir"');
    const odd = ['a b', '', 'new\nline', "quo'te", '$HOME', '-n', 'x=y', 'ünï'];
    const h = driver.exec(id, {
      argv: ['sh', '-c', 'pwd; printf "[%s]\\n" "$@"; echo "$KEEL_T"; cat', 'sh', ...odd],
      cwd: 'sub dir',
      env: { KEEL_T: 'v=1 \t two' },
      stdin: true,
    });
    const collected = collect(h);
    h.stdin!.end(Buffer.alloc(300_000, 'z'));
    const r = await collected;
    assert.equal(r.exitCode, 0, r.stderr);
    const expected = `/workspace/sub dir\n${odd.map((a) => `[${a}]\n`).join('')}v=1 \t two\n`;
    assert.equal(r.stdout.slice(0, expected.length), expected);
    assert.equal(r.stdout.length, expected.length + 300_000);
  });

  it('ends every quick command, and keeps small input written before the command opened it', async () => {
    // Many short commands at once: a command that is done before this side looks must still end
    // (a FIFO's reader that opened after its writer never hears of the writer's end), and input
    // smaller than a pipe, written and closed at once, must still reach the command.
    const runs = Array.from({ length: 60 }, async (_, i) => {
      const h = driver.exec(id, { argv: ['sh', '-c', `cat; exit ${i % 5}`], stdin: true, timeoutMs: 20_000 });
      h.stdin!.end(`in-${i}`);
      const r = await collect(h);
      assert.equal(r.stdout, `in-${i}`);
      assert.equal(r.exitCode, i % 5);
      assert.notEqual(r.timedOut, true);
    });
    await Promise.all(runs);
  });

  it('reports exit codes, a missing program, and a kill from a timeout', async () => {
    assert.equal((await sh('exit 7')).exitCode, 7);
    const missing = await collect(driver.exec(id, { argv: ['no-such-program-here'] }));
    assert.equal(missing.exitCode, 127);
    assert.match(missing.stderr, /no-such-program-here/);
    const slow = await sh('sleep 30', { timeoutMs: 200 });
    assert.equal(slow.timedOut, true);
    assert.equal(slow.signal, 'SIGKILL');
  });

  it('starts a new host when a command killed the old one, and the command that did it ends', async () => {
    await sh('echo old > /tmp/host-mark');
    // Everything the sandbox user may signal: the host, its waiters and the command itself.
    const r = await sh('kill -9 -1; sleep 5');
    assert.equal(r.exitCode, 137);
    assert.equal((await sh('echo again')).stdout, 'again\n');
    // A new sandbox: its /tmp is a new one.
    assert.equal((await sh('test -e /tmp/host-mark || echo gone')).stdout, 'gone\n');
  });

  it('gives a workspace that plants links and files for the next FIFOs nothing of the host', async () => {
    const secret = `${base}/secret`;
    writeFileSync(secret, 'HOST-SECRET\n', { mode: 0o644 });
    // Names for the next hundred commands' FIFOs, as links to a host file and as plain files.
    const planted = await sh(
      `cd /run/keel-exec && n=$(ls | sed 's/[.].*//' | sort -n | tail -1); ` +
        `for i in $(seq $((n + 1)) $((n + 100))); do ln -s ${secret} $i.1; echo planted > $i.2; done; echo ok`,
    );
    assert.equal(planted.stdout, 'ok\n', planted.stderr);
    for (let i = 0; i < 3; i++) {
      const r = await sh('cat /etc/hostname').catch((err: Error) => ({ stdout: '', stderr: err.message }));
      assert.ok(!`${r.stdout}${r.stderr}`.includes('HOST-SECRET'));
    }
    // Its own FIFO folder cleared again, the workspace works as before.
    await driver.stop(id);
    await driver.start(id);
    assert.equal((await sh('echo fine')).stdout, 'fine\n');
  });

  it('opens a FIFO only when it is one the sandbox user made, never through a link', async () => {
    const dir = mkdtempSync('/tmp/keel-chost-fifo-');
    try {
      writeFileSync(`${dir}/file`, 'x');
      symlinkSync(`${dir}/file`, `${dir}/link`);
      execFileSync('mkfifo', [`${dir}/fifo`]);
      linkSync(`${dir}/fifo`, `${dir}/hardlink`);
      execFileSync('mkfifo', [`${dir}/root-owned`]);
      await assert.rejects(openFifo(`${dir}/file`, constants.O_RDONLY), /not a FIFO/);
      await assert.rejects(openFifo(`${dir}/link`, constants.O_RDONLY), /ELOOP/);
      await assert.rejects(openFifo(`${dir}/hardlink`, constants.O_RDONLY), /not a FIFO/);
      await assert.rejects(openFifo(`${dir}/root-owned`, constants.O_RDONLY, 1000), /not a FIFO/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('command host: the order of a busy runner', () => {
  it('ends a command whose output closed before its "s" was read', async () => {
    // A scripted host: the command is over, its stdout written and both FIFOs closed, before the
    // runner reads "s" (what a runner slower than the host sees). Such a command once never
    // ended: its exit waited for a close that had already happened.
    const dir = mkdtempSync('/tmp/keel-chost-order-');
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const host = new CommandHost(
      {
        pid: 999_999,
        stdin: stdin as unknown as Socket,
        stdout: stdout as unknown as Socket,
        stderr: new PassThrough() as unknown as Socket,
        exited: new Promise(() => {}),
      },
      dir,
      process.getuid?.(),
    );
    let asked = '';
    stdin.on('data', (b: Buffer) => {
      asked += b.toString('latin1');
      if (asked.startsWith('mk\0')) {
        asked = '';
        execFileSync('mkfifo', [`${dir}/1.1`, `${dir}/1.2`]);
        stdout.write('m 1\n');
      } else if (asked.startsWith('run\0')) {
        asked = '\0';
        // The command: it writes, and both its ends close, before "s" and "x" are sent.
        const out = openSync(`${dir}/1.1`, constants.O_WRONLY);
        writeSync(out, 'quick\n');
        closeSync(out);
        closeSync(openSync(`${dir}/1.2`, constants.O_WRONLY));
        setTimeout(() => stdout.write('s 1 4242\nx 1 0\n'), 200);
      }
    });
    try {
      const command = await host.run({ argv: ['true'], cwd: '/workspace', env: {}, stdin: false });
      let text = '';
      command.stdout.on('data', (b: Buffer) => (text += b));
      command.stderr.resume();
      const ended = await Promise.race([
        command.exited,
        new Promise((r) => setTimeout(() => r('still waiting'), 5_000)),
      ]);
      assert.deepEqual(ended, { exitCode: 0 });
      assert.equal(text, 'quick\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
