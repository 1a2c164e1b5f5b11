import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { readFile } from '../../runners/src/files/confined-fs.ts';
import { DockerDriver } from '../../runners/src/workloads/docker.ts';
import { WorkloadError, type WorkloadSpec } from '../../runners/src/workloads/types.ts';
import { dockerCli, ensureDockerAndImage, removeStale } from './docker-helper.ts';
import { collect, sleep, waitForOutput } from './exec-util.ts';

const PREFIX = 'rtd-';
const id = `${PREFIX}${process.pid}`;
const spec = (over: Partial<WorkloadSpec> = {}): WorkloadSpec => ({
  workspaceId: id,
  cpus: 0.5,
  memoryMb: 96,
  pidsLimit: 64,
  network: false,
  storage: { kind: 'volume' },
  ...over,
});

describe('docker driver (real engine)', () => {
  let driver: DockerDriver;
  const created: string[] = [];

  before(async () => {
    await ensureDockerAndImage();
    await removeStale(PREFIX);
    driver = new DockerDriver();
    await driver.create(spec());
    created.push(id);
    await driver.start(id);
  });

  after(async () => {
    for (const w of created) await driver.remove(w, { keepData: false }).catch(() => {});
  });

  it('creates a hardened container: caps, read-only root, user, no network, limits', async () => {
    const [info] = JSON.parse(await dockerCli('inspect', `keel-ws-${id}`));
    const hc = info.HostConfig;
    assert.deepEqual(hc.CapDrop, ['ALL']);
    assert.equal(hc.CapAdd, null);
    assert.equal(hc.Privileged, false);
    assert.equal(hc.ReadonlyRootfs, true);
    assert.deepEqual(hc.SecurityOpt, ['no-new-privileges']);
    assert.equal(info.Config.User, '1000:1000');
    assert.equal(hc.NetworkMode, 'none');
    assert.equal(hc.Memory, 96 * 1024 * 1024);
    assert.equal(hc.MemorySwap, 96 * 1024 * 1024);
    assert.equal(hc.NanoCpus, 500_000_000);
    assert.equal(hc.PidsLimit, 64);
    assert.equal(hc.Init, true);
    assert.equal(info.Config.Labels['keel.workspace'], id);
    assert.ok(!JSON.stringify(info.Mounts).includes('docker.sock'), 'no Docker socket inside');
    const ws = info.Mounts.find((m: { Destination: string }) => m.Destination === '/workspace');
    assert.equal(ws.Type, 'volume');
    assert.equal(ws.Name, `keel-ws-${id}`);
    assert.ok(hc.Tmpfs['/tmp'], '/tmp is a tmpfs');
  });

  it('runs commands as uid 1000 with a read-only root and a writable /workspace', async () => {
    const r = await collect(
      driver.exec(id, {
        argv: [
          'sh',
          '-c',
          'id -u; touch /etc/x 2>/dev/null && echo root-writable; touch /workspace/ok && echo ws-ok',
        ],
      }),
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, '1000\nws-ok\n');
  });

  it('streams stdout and stderr separately and live, and reports exit codes', async () => {
    const h = driver.exec(id, {
      argv: ['sh', '-c', 'echo first; echo oops >&2; sleep 0.6; echo second; exit 7'],
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
    assert.equal(r.stdout, 'first\nsecond\n');
    assert.equal(r.stderr, 'oops\n');
    assert.ok(firstAt > 0 && doneAt - firstAt >= 400, 'first line arrived before the command ended');

    const env = await collect(
      driver.exec(id, { argv: ['sh', '-c', 'echo "$GREETING $PWD"'], env: { GREETING: 'hi' } }),
    );
    assert.equal(env.stdout, 'hi /workspace\n');
  });

  it('kills a command at its timeout', async () => {
    const t0 = Date.now();
    const r = await collect(driver.exec(id, { argv: ['sleep', '30'], timeoutMs: 500 }));
    assert.equal(r.timedOut, true);
    assert.equal(r.exitCode, null);
    assert.ok(Date.now() - t0 < 5000);
  });

  it('kill() ends the whole process tree, including setsid and env-less descendants', async () => {
    const h = driver.exec(id, {
      argv: [
        'bash',
        '-c',
        'sleep 3021 & sleep 3022 & (setsid sleep 3023 &); env -u KEEL_EXEC_ID sleep 3024 & ' +
          '(trap "" TERM; sleep 3025) & echo started; sleep 3026',
      ],
    });
    await waitForOutput(h, 'started');
    const before = await collect(driver.exec(id, { argv: ['pgrep', '-a', '-x', 'sleep'] }));
    assert.equal(before.stdout.match(/sleep 302\d/g)?.length, 6, before.stdout);
    await h.kill();
    const res = await h.done;
    assert.equal(res.killed, true);
    const ps = await collect(driver.exec(id, { argv: ['ps', '-eo', 'args'] }));
    assert.doesNotMatch(ps.stdout, /sleep 302/);
    assert.match(ps.stdout, /sleep infinity/, 'the workspace itself keeps running');
  });

  it('enforces the memory and pids limits', async () => {
    const mem = await collect(
      driver.exec(id, { argv: ['sh', '-c', 'head -c 300000000 /dev/zero | tail >/dev/null; echo "rc=$?"'] }),
    );
    assert.match(mem.stdout, /rc=137/, 'the memory hog was OOM-killed');
    // The sleeps hold stdout, so the exec ends when they do and nothing is left behind.
    const pids = await collect(
      driver.exec(id, {
        argv: ['sh', '-c', 'i=0; while [ $i -lt 100 ]; do sleep 1 & i=$((i+1)); done; echo all-forked'],
        timeoutMs: 20_000,
      }),
    );
    assert.doesNotMatch(pids.stdout, /all-forked/);
    assert.match(pids.stderr, /fork/i);
  });

  it('keeps /workspace across stop and start, and exposes it through the confined fs', async () => {
    const w = await collect(driver.exec(id, { argv: ['sh', '-c', 'echo persisted > /workspace/keep.txt'] }));
    assert.equal(w.exitCode, 0, w.stderr);
    await driver.stop(id, { timeoutMs: 2000 });
    assert.equal(await driver.status(id), 'stopped');
    await assert.rejects(collect(driver.exec(id, { argv: ['true'] })), (e: unknown) => {
      return e instanceof WorkloadError && e.code === 'WORKLOAD_NOT_RUNNING';
    });
    await driver.start(id);
    assert.equal(await driver.status(id), 'running');
    const r = await collect(driver.exec(id, { argv: ['cat', 'keep.txt'] }));
    assert.equal(r.stdout, 'persisted\n');
    const root = await driver.workspaceRoot(id);
    assert.equal((await readFile(root, 'keep.txt')).toString(), 'persisted\n');
    assert.ok((await driver.list()).includes(id));
  });

  it('create is idempotent, and a network workspace joins no engine network (its own namespace instead)', async () => {
    await driver.create(spec());
    const netId = `${id}-net`;
    await driver.create(spec({ workspaceId: netId, network: true, egressAllow: ['10.9.0.0/16:443'] }));
    created.push(netId);
    const [info] = JSON.parse(await dockerCli('inspect', `keel-ws-${netId}`));
    assert.equal(info.HostConfig.NetworkMode, 'none');
    assert.deepEqual(info.HostConfig.Dns, ['10.0.2.3']);
    assert.equal(info.Config.Labels['keel.network'], '1');
    assert.equal(info.Config.Labels['keel.egressAllow'], '10.9.0.0/16:443');
  });

  it('binds an admin-chosen host folder and removes only what it created', async () => {
    const parent = mkdtempSync('/tmp/keel-hostdir-');
    const dir = `${parent}/ws`;
    const hid = `${id}-host`;
    try {
      await driver.create(spec({ workspaceId: hid, storage: { kind: 'hostDir', path: dir } }));
      created.push(hid);
      await driver.start(hid);
      const r = await collect(driver.exec(hid, { argv: ['sh', '-c', 'echo x > f && ls -n f'] }));
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(statSync(`${dir}/f`).uid, 1000);
      assert.equal(await driver.workspaceRoot(hid), dir);
      await driver.remove(hid, { keepData: false });
      assert.equal(await driver.status(hid), 'missing');
      assert.equal(existsSync(dir), false);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('remove deletes the container and, without keepData, the volume', async () => {
    const rid = `${id}-rm`;
    await driver.create(spec({ workspaceId: rid }));
    await driver.start(rid);
    await driver.remove(rid, { keepData: true });
    assert.equal(await driver.status(rid), 'missing');
    assert.match(await dockerCli('volume', 'ls', '-q'), new RegExp(`keel-ws-${rid}`));
    await driver.remove(rid, { keepData: false });
    await sleep(10);
    assert.doesNotMatch(await dockerCli('volume', 'ls', '-q'), new RegExp(`keel-ws-${rid}`));
    await driver.remove(rid, { keepData: false });
  });
});
