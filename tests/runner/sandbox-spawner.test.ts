/*
 * The process driver forks its sandboxes in a spawner process of its own
 * (runners/src/workloads/spawner), so that the runner's event loop, which relays every terminal
 * and stream, does not stop for each fork. Real bubblewrap sandboxes, a real spawner process.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import { spawnerProgram } from '../../runners/src/workloads/spawner/program.ts';
import { WorkloadError, type WorkloadSpec } from '../../runners/src/workloads/types.ts';
import { collect, sleep, waitForOutput } from './exec-util.ts';

/** Host pids of processes whose command line matches, other than pgrep itself. */
function hostPids(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    return [];
  }
}

function parentOf(pid: number): number {
  return Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

/** The longest pause of a 1 ms timer while `work` runs: how long the event loop was held. */
async function longestPause(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(longest, performance.now() - last);
}

describe('sandbox spawner (process driver)', () => {
  let base: string;
  let driver: ProcessDriver;
  const id = 'sp1';
  const spec: WorkloadSpec = {
    workspaceId: id,
    cpus: 1,
    memoryMb: 512,
    pidsLimit: 256,
    network: false,
    storage: { kind: 'volume' },
  };

  before(async () => {
    base = mkdtempSync('/tmp/keel-spawner-');
    // The sandbox user must be able to reach its workspace below this folder.
    chmodSync(base, 0o711);
    driver = new ProcessDriver({ root: `${base}/root` });
    await driver.create(spec);
    await driver.start(id);
  });

  after(async () => {
    for (const w of await driver.list()) await driver.remove(w, { keepData: false });
    rmSync(base, { recursive: true, force: true });
  });

  it('forks every sandbox in the spawner, which sees nothing of the runner’s environment', async () => {
    const h = driver.exec(id, { argv: ['sh', '-c', 'echo up; exec sleep 3101'] });
    await waitForOutput(h, 'up');
    const [sleeper] = hostPids('^sleep 3101');
    assert.ok(sleeper, 'the command runs');
    const ancestors: number[] = [];
    for (let p = parentOf(sleeper); p > 1; p = parentOf(p)) ancestors.push(p);
    const spawner = driver.spawner.pid!;
    assert.ok(ancestors.includes(spawner), 'the sandbox descends from the spawner');
    // The runner's only child on the way is the spawner: it forked nothing else.
    assert.equal(ancestors[ancestors.indexOf(process.pid) - 1], spawner);
    const environ = readFileSync(`/proc/${spawner}/environ`, 'utf8').split('\0').filter(Boolean);
    // Node adds its channel's settings (NODE_CHANNEL_*); nothing else comes from the runner.
    const names = environ.map((e) => e.split('=')[0]).filter((n) => !n!.startsWith('NODE_CHANNEL_'));
    assert.deepEqual(names, ['PATH']);
    await h.kill();
  });

  it('keeps the runner’s event loop moving while many sandboxes start (forking here stops it)', async () => {
    // A runner's heap, as at N=50 in the scale test: each fork copies the page tables of all of it.
    const heap = Buffer.alloc(512 * 1024 * 1024, 1);
    const batch = 30;
    const run = async () => {
      const r = await collect(driver.exec(id, { argv: ['true'] }));
      assert.equal(r.exitCode, 0);
    };
    await run();
    const viaSpawner = await longestPause(() => Promise.all(Array.from({ length: batch }, run)));
    // The same number of forks from this process, as the driver did before.
    const forkedHere = await longestPause(() =>
      Promise.all(
        Array.from(
          { length: batch },
          () =>
            new Promise((resolve) =>
              spawn('/bin/true', [], { stdio: ['ignore', 'pipe', 'pipe'], detached: true }).once(
                'close',
                resolve,
              ),
            ),
        ),
      ),
    );
    heap.fill(0);
    console.log(
      `longest pause: ${viaSpawner.toFixed(1)} ms through the spawner, ${forkedHere.toFixed(1)} ms forking here`,
    );
    assert.ok(
      viaSpawner * 4 < forkedHere,
      `the loop stopped ${viaSpawner.toFixed(1)} ms at most through the spawner, ${forkedHere.toFixed(1)} ms forking here`,
    );
  });

  it('hands over output written at once, stdin, and exit codes', async () => {
    const burst = await collect(driver.exec(id, { argv: ['sh', '-c', 'head -c 1048576 /dev/zero; exit 7'] }));
    assert.equal(
      burst.stdout.length,
      1_048_576,
      'nothing written before the pipes reached the runner is lost',
    );
    assert.equal(burst.exitCode, 7);

    // The runner busy while the pipes travel: the spawner must not read (or end) them meanwhile.
    const started = driver.spawner.spawn(
      { argv: ['/bin/sh', '-c', 'head -c 1048576 /dev/zero'], cwd: '/', env: { PATH: '/usr/bin:/bin' } },
      { stdin: false },
    );
    const until = Date.now() + 300;
    while (Date.now() < until) {}
    const direct = await started;
    let bytes = 0;
    direct.stdout.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    direct.stderr.resume();
    assert.deepEqual(await direct.exited, { exitCode: 0 });
    assert.equal(bytes, 1_048_576, 'all of it, though the runner took its pipes late');

    const input = randomBytes(512 * 1024).toString('base64');
    const h = driver.exec(id, { argv: ['sha256sum'], stdin: true });
    h.stdin!.end(input);
    const r = await collect(h);
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout.split(' ')[0], createHash('sha256').update(input).digest('hex'));

    const empty = await collect(
      driver.exec(id, { argv: ['sh', '-c', 'printf "[%s]" "$1"', 'sh', ''], env: { E: '' } }),
    );
    assert.equal(empty.stdout, '[]', 'empty arguments and values are arguments too');

    const quiet = await collect(driver.exec(id, { argv: ['true'] }));
    assert.deepEqual({ ...quiet }, { exitCode: 0, stdout: '', stderr: '' });
  });

  it('kills and times out commands, leaving no process behind', async () => {
    const h = driver.exec(id, { argv: ['sh', '-c', 'sleep 3102 & echo up; wait'] });
    await waitForOutput(h, 'up');
    await h.kill();
    const res = await h.done;
    assert.equal(res.killed, true);
    assert.equal(res.signal, 'SIGKILL');
    const timed = await driver.exec(id, { argv: ['sleep', '3103'], timeoutMs: 300 }).done;
    assert.equal(timed.timedOut, true);
    assert.deepEqual([...hostPids('^sleep 310[23]')], []);
  });

  it('a spawner that dies fails its commands cleanly, and the next command gets a new one', async () => {
    const h = driver.exec(id, { argv: ['sh', '-c', 'sleep 3104 & echo up; wait'] });
    await waitForOutput(h, 'up');
    const first = driver.spawner.pid!;
    process.kill(first, 'SIGKILL');
    await assert.rejects(
      h.done,
      (e: unknown) =>
        e instanceof WorkloadError && e.code === 'DRIVER_UNAVAILABLE' && /spawner/.test(e.message),
    );
    for (let i = 0; i < 50 && hostPids('^sleep 3104').length > 0; i++) await sleep(100);
    assert.deepEqual(hostPids('^sleep 3104'), [], 'the sandbox died with the spawner');
    const next = await collect(driver.exec(id, { argv: ['echo', 'again'] }));
    assert.equal(next.stdout, 'again\n');
    assert.notEqual(driver.spawner.pid, first);
  });

  it('gives an unsandboxed command no way to the spawner’s channel', async () => {
    const loose = new ProcessDriver({
      root: `${base}/loose`,
      allowUnsandboxed: true,
      bwrapPath: '/nonexistent',
    });
    await loose.create({ ...spec, workspaceId: 'sp2' });
    await loose.start('sp2');
    try {
      const r = await collect(loose.exec('sp2', { argv: ['sh', '-c', 'ls -l /proc/$$/fd/'] }));
      assert.equal(r.exitCode, 0, r.stderr);
      // Descriptor 3 is the spawner's channel to the runner; the command finds /dev/null there.
      assert.match(r.stdout, / 3 -> \/dev\/null$/m);
      const sockets = r.stdout.split('\n').filter((l) => /socket:/.test(l));
      assert.deepEqual(
        sockets.map((l) => / (\d+) -> /.exec(l)![1]),
        ['1', '2'],
        'no socket but its stdout and stderr',
      );
    } finally {
      await loose.remove('sp2', { keepData: false });
    }
  });

  it('refuses a malformed request and starts nothing', async () => {
    const program = spawnerProgram();
    const child: ChildProcess = spawn(process.execPath, [...program.execArgv, program.script], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const replies: unknown[] = [];
    child.on('message', (m) => replies.push(m));
    try {
      child.send({
        type: 'spawn',
        id: 1,
        argv: ['/bin/touch', `${base}/made`],
        cwd: 'relative',
        env: {},
        stdin: false,
      });
      child.send({ type: 'run', id: 2, argv: ['/bin/touch', `${base}/made`] });
      child.send({ type: 'spawn', id: 3, argv: ['/bin/true'], cwd: '/', env: {}, stdin: false });
      for (let i = 0; i < 100 && !replies.some((m) => (m as { type: string }).type === 'exit'); i++)
        await sleep(50);
      assert.deepEqual(
        replies.map((m) => `${(m as { id: number }).id} ${(m as { type: string }).type}`),
        ['1 failed', '2 failed', '3 stdio', '3 stdio', '3 spawned', '3 exit'],
        'the refused ones fail at once; the valid one runs',
      );
      assert.equal((stderr.match(/refused a request/g) ?? []).length, 2);
      assert.throws(() => readlinkSync(`${base}/made`), /ENOENT/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
