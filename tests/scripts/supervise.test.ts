import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { BrowserClient } from '../harness/browser-client.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { spawnService, waitForHttp } from '../harness/processes.ts';

const root = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);
const PASSWORD = 'correct horse battery staple';

/** Runs keel_supervise from scripts/lib in bash; a stand-in command stands for the runner. */
async function supervise(command: string): Promise<{ code: number; output: string }> {
  const script = `source scripts/lib/common.sh; source scripts/lib/supervise.sh; keel_supervise stand-in bash -c '${command}'`;
  try {
    const { stderr } = await run('bash', ['-c', script], { cwd: root, timeout: 30_000 });
    return { code: 0, output: stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, output: e.stderr };
  }
}

/** Pids of the keel-runner processes in a process group. */
function runnerPids(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('node') && argv.some((a) => a.endsWith('keel-runner.mjs')))
        out.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

describe('keel_supervise (scripts/lib/supervise.sh)', () => {
  test('restarts a command that fails, stops on the revoked and cannot-run codes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-supervise-'));
    try {
      const runs = join(dir, 'runs');
      // Fails twice, then says it was revoked: three runs, and the revoked code comes back.
      const revoked = await supervise(`echo x >> ${runs}; [ $(wc -l < ${runs}) -lt 3 ] && exit 1; exit 77`);
      assert.equal(revoked.code, 77, revoked.output);
      assert.equal(readFileSync(runs, 'utf8'), 'x\nx\nx\n');
      assert.match(
        revoked.output,
        /restarting it in 1s[\s\S]*restarting it in 2s[\s\S]*revoked: not restarting/,
      );
      const cannot = await supervise(`echo y >> ${runs}; exit 78`);
      assert.equal(cannot.code, 78, cannot.output);
      assert.equal(readFileSync(runs, 'utf8'), 'x\nx\nx\ny\n', 'run once');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a runner without a sandbox ends with the cannot-run code', () => {
    // An empty PATH: no bwrap to find.
    const emptyPath = mkdtempSync(join(tmpdir(), 'keel-empty-path-'));
    const dataDir = mkdtempSync(join(tmpdir(), 'keel-nosandbox-'));
    try {
      const result = spawnSync(process.execPath, [join(root, 'runners/bin/keel-runner.mjs')], {
        cwd: root,
        env: {
          PATH: emptyPath,
          HOME: tmpdir(),
          KEEL_URL: 'http://127.0.0.1:9',
          KEEL_RUNNER_DRIVER: 'process',
          KEEL_RUNNER_DATA_DIR: dataDir,
          REDIS_URL: 'redis://127.0.0.1:9',
        },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(result.status, 78, result.stderr);
      assert.match(result.stderr, /bubblewrap/);
    } finally {
      rmSync(emptyPath, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('scripts/up: a runner killed with SIGKILL comes back as the same runner; a revoked one stays down', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keel-up-supervise-'));
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      KEEL_DATA_DIR: dataDir,
      KEEL_SKIP_WEB_BUILD: '1',
      KEEL_RUNNER_DRIVER: 'process',
    };
    delete env.REDIS_URL;
    delete env.DATABASE_URL;
    delete env.KEEL_SECRET_KEY;
    const up = spawnService(join(root, 'scripts/up'), [], env, root);
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitForHttp(`${base}/readyz`, up, 120_000);
      const c = new BrowserClient((p, init) => fetch(new URL(p, base), init));
      await c.request('POST', '/api/auth/signup', {
        email: 'ops@example.com',
        password: PASSWORD,
        name: 'Ops',
      });
      const runners = async () =>
        (await c.request('GET', '/api/admin/runners', undefined, { bearer: true })).body.runners as Array<{
          id: string;
          status: string;
          stats: { at: string } | null;
        }>;
      const first = await waitFor('the local runner', async () => {
        const [r] = await runners();
        return r?.status === 'online' ? r : undefined;
      });
      const credential = readFileSync(join(dataDir, 'runner/credential.json'), 'utf8');
      const [pid] = runnerPids(up.child.pid!);
      assert.ok(pid, 'the runner runs under scripts/up');
      process.kill(pid, 'SIGKILL');
      const back = await waitFor(
        'a new runner process',
        async () => runnerPids(up.child.pid!).find((p) => p !== pid),
        30_000,
      );
      // Registered again under the same id: a heartbeat from the new process.
      const killedAt = new Date().toISOString();
      await waitFor(
        'its heartbeat',
        async () => {
          const list = await runners();
          return list.length === 1 &&
            list[0]!.id === first.id &&
            list[0]!.stats &&
            list[0]!.stats.at > killedAt
            ? true
            : undefined;
        },
        30_000,
      );
      assert.equal(
        readFileSync(join(dataDir, 'runner/credential.json'), 'utf8'),
        credential,
        'credential reused',
      );
      assert.ok(back > 0);

      const revoked = await c.request('DELETE', `/api/admin/runners/${first.id}`, undefined, {
        bearer: true,
      });
      assert.equal(revoked.status, 204);
      await waitFor(
        'the revoked runner to stop',
        async () => (runnerPids(up.child.pid!).length ? undefined : true),
        60_000,
      );
      await new Promise((r) => setTimeout(r, 3_000));
      assert.deepEqual(runnerPids(up.child.pid!), [], 'not restarted');
      assert.match(up.output(), /runner was revoked: not restarting it/);
    } finally {
      await up.stop('SIGINT');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
