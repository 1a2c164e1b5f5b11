/*
 * The file agent through the real Docker engine: DockerDriver's exec with stdin starts it in a
 * running workspace, and its answers match ConfinedFs on the workspace's volume as the runner's
 * host sees it. Also exec with stdin itself (end of file, kill). Prints the p50 of a small read.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AgentFiles, agentFiles } from '../../runners/src/files/agent/index.ts';
import { ConfinedFs, ConfinedFsError } from '../../runners/src/files/confined-fs.ts';
import type { WorkspaceFiles } from '../../runners/src/files/workspace-files.ts';
import { DockerDriver } from '../../runners/src/workloads/docker.ts';
import { WorkloadError } from '../../runners/src/workloads/types.ts';
import { ensureDockerAndImage, removeStale } from './docker-helper.ts';
import { collect } from './exec-util.ts';

const PREFIX = 'rfa-';
const id = `${PREFIX}${process.pid}`;

async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    const v = await p;
    return { ok: Buffer.isBuffer(v) ? v.toString('base64') : v };
  } catch (err) {
    const e = err as Error & { code?: string };
    return { error: e.constructor.name, code: e.code, message: e.message };
  }
}

describe('file agent (real Docker engine)', () => {
  let driver: DockerDriver;
  let files: AgentFiles;
  let local: ConfinedFs;
  let hostRoot: string;

  before(async () => {
    await ensureDockerAndImage();
    await removeStale(PREFIX);
    driver = new DockerDriver();
    await driver.create({
      workspaceId: id,
      cpus: 1,
      memoryMb: 256,
      pidsLimit: 64,
      network: false,
      storage: { kind: 'volume' },
    });
    await driver.start(id);
    hostRoot = await driver.workspaceRoot(id);
    local = new ConfinedFs(hostRoot, driver.fileOwner);
    files = agentFiles((req) => driver.exec(id, req));
    // The fixture is made inside the workspace, by its user, as a developer would.
    const setup = await collect(
      driver.exec(id, {
        argv: [
          'sh',
          '-c',
          [
            'set -e',
            'mkdir -p src/lib',
            'printf "export const a = 1;\\n" > src/lib/a.ts',
            'printf "# hi\\n" > README.md',
            'head -c 307200 /dev/zero > big.bin',
            'ln -s /etc/passwd passwd-link',
            'ln -s /etc etc-dir',
            'ln -s src inner-link',
            'printf secret > /tmp/secret',
            'ln /workspace/README.md hard-readme',
          ].join('\n'),
        ],
      }),
    );
    assert.equal(setup.exitCode, 0, setup.stderr);
  });

  after(async () => {
    await files?.close();
    await driver?.remove(id, { keepData: false }).catch(() => {});
  });

  it('exec with stdin: the command reads what is written, and ends at end of file', async () => {
    const h = driver.exec(id, { argv: ['sh', '-c', 'wc -c; cat >/dev/null; echo done'], stdin: true });
    assert.ok(h.stdin);
    h.stdin.write(Buffer.alloc(100_000, 1));
    h.stdin.end();
    const r = await collect(h);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout.trim(), '100000\ndone');
  });

  it('exec with stdin left open: kill still ends it, and so does a timeout', async () => {
    const h = driver.exec(id, { argv: ['cat'], stdin: true });
    h.stdin?.write('x');
    await new Promise((r) => setTimeout(r, 300));
    await h.kill();
    const r = await h.done;
    assert.equal(r.killed, true);
    const t = await driver.exec(id, { argv: ['cat'], stdin: true, timeoutMs: 500 }).done;
    assert.equal(t.timedOut, true);
  });

  it('answers as ConfinedFs on the host folder does, escape attempts included', async () => {
    const cases: [string, (fs: WorkspaceFiles) => Promise<unknown>][] = [
      ['read', (fs) => fs.readFile('src/lib/a.ts')],
      ['read large', (fs) => fs.readFile('big.bin')],
      ['read too large', (fs) => fs.readFile('big.bin', { maxBytes: 100 })],
      ['read missing', (fs) => fs.readFile('nope')],
      ['read ..', (fs) => fs.readFile('../etc/passwd')],
      ['read absolute', (fs) => fs.readFile('/etc/passwd')],
      ['read symlink to /etc/passwd', (fs) => fs.readFile('passwd-link')],
      ['read through a symlinked dir', (fs) => fs.readFile('etc-dir/passwd')],
      ['read through an inner symlinked dir', (fs) => fs.readFile('inner-link/lib/a.ts')],
      ['read hard link', (fs) => fs.readFile('hard-readme')],
      ['stat', (fs) => fs.stat('src/lib/a.ts')],
      ['stat symlink', (fs) => fs.stat('passwd-link')],
      ['list', (fs) => fs.listDir('')],
      ['list through symlink', (fs) => fs.listDir('etc-dir')],
      ['tree', (fs) => fs.tree('')],
      ['write through a symlinked dir', (fs) => fs.writeFile('etc-dir/evil', 'x')],
      ['write over a symlink', (fs) => fs.writeFile('passwd-link', 'x')],
      ['mkdir through a symlink', (fs) => fs.mkdir('etc-dir/x/y', { recursive: true })],
      ['rename out', (fs) => fs.rename('README.md', '../README.md')],
    ];
    for (const [name, op] of cases) {
      assert.deepEqual(await outcome(op(files)), await outcome(op(local)), name);
    }
  });

  it('writes as the workspace user, and the host sees the same files', async () => {
    await files.writeFile('made/by/agent.txt', 'from the agent', { createParents: true });
    assert.equal((await local.readFile('made/by/agent.txt')).toString(), 'from the agent');
    const st = statSync(path.join(hostRoot, 'made/by/agent.txt'));
    assert.equal(st.uid, 1000);
    assert.equal(st.gid, 1000);
    await files.rename('made/by/agent.txt', 'made/moved.txt');
    assert.deepEqual(await files.stat('made/moved.txt'), await local.stat('made/moved.txt'));
    await files.mkdir('made/sub');
    assert.deepEqual(await files.listDir('made'), await local.listDir('made'));
    await files.remove('made', { recursive: true });
    await assert.rejects(
      local.stat('made'),
      (e: unknown) => e instanceof ConfinedFsError && e.code === 'NOT_FOUND',
    );
  });

  it('reads quickly once started (p50 printed)', async () => {
    await files.writeFile('bench.txt', 'x'.repeat(4096));
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await files.readFile('bench.txt');
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    console.log(
      `file agent over docker exec: 4 KiB read p50 ${times[100]!.toFixed(3)} ms, p99 ${times[198]!.toFixed(3)} ms`,
    );
  });

  it('after the agent is killed inside the workspace, the next call starts a new one', async () => {
    const before = await files.stat('');
    const k = await collect(driver.exec(id, { argv: ['pkill', '-KILL', '-x', 'node'] }));
    assert.ok(k.exitCode === 0, k.stderr);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await files.stat(''), before);
  });

  it('a stopped workspace: the call fails as "not running", and works again after start', async () => {
    await driver.stop(id, { timeoutMs: 1000 });
    await assert.rejects(
      files.stat(''),
      (e: unknown) =>
        (e instanceof WorkloadError && e.code === 'WORKLOAD_NOT_RUNNING') ||
        (e instanceof ConfinedFsError && e.code === 'UNAVAILABLE'),
    );
    await assert.rejects(
      files.stat(''),
      (e: unknown) => e instanceof WorkloadError && e.code === 'WORKLOAD_NOT_RUNNING',
    );
    await driver.start(id);
    assert.equal((await files.stat('README.md')).type, 'file');
  });
});
