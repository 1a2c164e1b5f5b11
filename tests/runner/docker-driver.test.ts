import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DockerDriver } from '../../runners/src/workloads/docker.ts';
import type { WorkloadSpec } from '../../runners/src/workloads/types.ts';
import { dockerCli, ensureDockerAndImage, removeStale } from './docker-helper.ts';
import { collect, sleep } from './exec-util.ts';

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

// What every driver does (status, exec, kill, files, storage, escapes) is in tests/drivers: this is the Docker side of it.
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

  it('a network workspace joins no engine network (its own namespace instead)', async () => {
    const netId = `${id}-net`;
    await driver.create(spec({ workspaceId: netId, network: true, egressAllow: ['10.9.0.0/16:443'] }));
    created.push(netId);
    const [info] = JSON.parse(await dockerCli('inspect', `keel-ws-${netId}`));
    assert.equal(info.HostConfig.NetworkMode, 'none');
    assert.deepEqual(info.HostConfig.Dns, ['10.0.2.3']);
    assert.equal(info.Config.Labels['keel.network'], '1');
    assert.equal(info.Config.Labels['keel.egressAllow'], '10.9.0.0/16:443');
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
