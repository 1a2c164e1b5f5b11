import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  makeRemoteDockerDriver,
  type RemoteDockerDriver,
} from '../../runners/src/workloads/remote-docker.ts';
import { WorkloadError, type WorkloadSpec } from '../../runners/src/workloads/types.ts';
import { startTlsDockerEngine, type TlsDockerEngine } from '../harness/docker-tls.ts';
import { type SshdServer, startSshd } from '../harness/sshd.ts';
import { dockerCli, ensureDockerAndImage } from './docker-helper.ts';
import { collect, waitForOutput } from './exec-util.ts';

const PREFIX = 'rrd-';
const spec = (workspaceId: string, over: Partial<WorkloadSpec> = {}): WorkloadSpec => ({
  workspaceId,
  cpus: 0.5,
  memoryMb: 96,
  pidsLimit: 64,
  network: false,
  storage: { kind: 'volume' },
  ...over,
});

async function removeStaleOn(cli: (...a: string[]) => Promise<string>): Promise<void> {
  const names = (await cli('ps', '-aq', '--filter', `name=keel-ws-${PREFIX}`)).split('\n').filter(Boolean);
  if (names.length) await cli('rm', '-f', ...names);
  const vols = (await cli('volume', 'ls', '-q', '--filter', `name=keel-ws-${PREFIX}`))
    .split('\n')
    .filter(Boolean);
  if (vols.length) await cli('volume', 'rm', '-f', ...vols);
}

interface Setup {
  driver: RemoteDockerDriver;
  /** `docker` against the engine the driver drives, for checks that do not trust the driver. */
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** The same checks over SSH and over mutual TLS. */
function remoteDriverSuite(kind: 'ssh' | 'docker-tls', setUp: () => Promise<Setup>) {
  describe(`${kind} driver (real engine)`, () => {
    let s: Setup;
    const id = `${PREFIX}${kind === 'ssh' ? 's' : 't'}${process.pid}`;

    before(async () => {
      await ensureDockerAndImage();
      s = await setUp();
      await removeStaleOn(s.cli);
      await s.driver.create(spec(id));
      await s.driver.start(id);
    });
    after(async () => {
      await s?.driver.remove(id, { keepData: false }).catch(() => {});
      await s?.stop();
    });

    it('names its kind', () => {
      assert.equal(s.driver.kind, kind);
    });

    it('creates the same hardened container as the local driver', async () => {
      const [info] = JSON.parse(await s.cli('inspect', `keel-ws-${id}`));
      const hc = info.HostConfig;
      assert.deepEqual(hc.CapDrop, ['ALL']);
      assert.equal(hc.Privileged, false);
      assert.equal(hc.ReadonlyRootfs, true);
      assert.deepEqual(hc.SecurityOpt, ['no-new-privileges']);
      assert.equal(info.Config.User, '1000:1000');
      assert.equal(hc.NetworkMode, 'none');
      assert.equal(hc.Memory, 96 * 1024 * 1024);
      assert.equal(hc.MemorySwap, 96 * 1024 * 1024);
      assert.equal(hc.NanoCpus, 500_000_000);
      assert.equal(hc.PidsLimit, 64);
      assert.equal(info.Config.Labels['keel.workspace'], id);
      assert.ok(!JSON.stringify(info.Mounts).includes('docker.sock'), 'no Docker socket inside');
    });

    it('runs commands, streams output live and reports exit codes', async () => {
      const r = await collect(
        s.driver.exec(id, {
          argv: ['sh', '-c', 'id -u; echo oops >&2; touch /workspace/ok && echo ws-ok; exit 3'],
        }),
      );
      assert.equal(r.exitCode, 3);
      assert.equal(r.stdout, '1000\nws-ok\n');
      assert.equal(r.stderr, 'oops\n');
      const h = s.driver.exec(id, { argv: ['sh', '-c', 'echo first; sleep 30'] });
      await waitForOutput(h, 'first');
      await h.kill();
      const done = await h.done;
      assert.equal(done.killed, true);
    });

    it('keeps /workspace across stop and start', async () => {
      await collect(s.driver.exec(id, { argv: ['sh', '-c', 'echo kept > /workspace/keep.txt'] }));
      await s.driver.stop(id, { timeoutMs: 1000 });
      assert.equal(await s.driver.status(id), 'stopped');
      const stopped = await collect(s.driver.exec(id, { argv: ['true'] })).catch((e: unknown) => e);
      assert.ok(stopped instanceof WorkloadError, 'exec on a stopped workspace fails with a WorkloadError');
      await s.driver.start(id);
      assert.equal(await s.driver.status(id), 'running');
      const r = await collect(s.driver.exec(id, { argv: ['cat', '/workspace/keep.txt'] }));
      assert.equal(r.stdout, 'kept\n');
      assert.deepEqual(
        [...(await s.driver.states()).keys()].filter((k) => k.startsWith(PREFIX)),
        [id],
      );
      assert.ok((await s.driver.list()).includes(id));
    });

    it('has no host folder on the runner and refuses network workspaces clearly', async () => {
      await assert.rejects(s.driver.workspaceRoot(id), (e: WorkloadError) => e.code === 'DRIVER_UNAVAILABLE');
      await assert.rejects(
        s.driver.create(spec(`${id}-net`, { network: true })),
        (e: WorkloadError) => e.code === 'DRIVER_UNAVAILABLE' && /network/.test(e.message),
      );
      assert.equal(await s.driver.status(`${id}-net`), 'missing');
      await assert.rejects(s.driver.files('rrd-none'), (e: WorkloadError) => e.code === 'WORKLOAD_NOT_FOUND');
    });

    it('makes a storage folder on the engine host, owned by the workspace user, and removes only what it made', async () => {
      // The engine's host is this machine, so the folder can be checked directly.
      const parent = `/tmp/keel-rrd-${kind}-${process.pid}`;
      rmSync(parent, { recursive: true, force: true });
      const made = `${id}-dir`;
      await s.driver.create(spec(made, { storage: { kind: 'hostDir', path: `${parent}/${made}` } }));
      assert.equal(statSync(`${parent}/${made}`).uid, 1000);
      await s.driver.start(made);
      const r = await collect(
        s.driver.exec(made, { argv: ['sh', '-c', 'echo x > /workspace/f && ls -n /workspace'] }),
      );
      assert.equal(r.exitCode, 0, r.stderr);
      await s.driver.remove(made, { keepData: false });
      assert.equal(existsSync(`${parent}/${made}`), false, 'removed with the workspace');

      const kept = `${id}-kept`;
      mkdirSync(`${parent}/${kept}`, { recursive: true });
      await s.driver.create(spec(kept, { storage: { kind: 'hostDir', path: `${parent}/${kept}` } }));
      await s.driver.remove(kept, { keepData: false });
      assert.equal(existsSync(`${parent}/${kept}`), true, 'a folder that was there before stays');
      await assert.rejects(
        s.driver.create(spec(`${id}-bad`, { storage: { kind: 'hostDir', path: '/etc' } })),
        (e: WorkloadError) => e.code === 'INVALID_SPEC',
      );
      assert.equal(
        (await s.cli('ps', '-aq', '--filter', 'label=keel.helper')).trim(),
        '',
        'no helper container is left',
      );
      rmSync(parent, { recursive: true, force: true });
    });

    it('remove deletes the container and the volume', async () => {
      const gone = `${id}-gone`;
      await s.driver.create(spec(gone));
      await s.driver.remove(gone, { keepData: false });
      assert.equal(await s.driver.status(gone), 'missing');
      assert.equal((await s.cli('volume', 'ls', '-q', '--filter', `name=keel-ws-${gone}`)).trim(), '');
      await s.driver.remove(gone, { keepData: false });
    });
  });
}

remoteDriverSuite('ssh', async () => {
  const sshd: SshdServer = await startSshd();
  const driver = await makeRemoteDockerDriver({
    kind: 'ssh',
    id: 'srv_rrdssh' as never,
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    privateKey: sshd.userKey.privateKey,
    hostKey: sshd.hostKey.publicKey,
    storage: { kind: 'volume' },
  });
  return {
    driver,
    cli: dockerCli,
    async stop() {
      await driver.close();
      await sshd.stop();
    },
  };
});

remoteDriverSuite('docker-tls', async () => {
  const engine: TlsDockerEngine = await startTlsDockerEngine();
  const driver = await makeRemoteDockerDriver({
    kind: 'docker-tls',
    id: 'srv_rrdtls' as never,
    host: engine.host,
    port: engine.port,
    ...engine.client,
    storage: { kind: 'volume' },
  });
  return {
    driver,
    cli: engine.cli,
    async stop() {
      await driver.close();
      await engine.stop();
    },
  };
});

describe('ssh driver: connection rules', () => {
  let sshd: SshdServer;
  before(async () => {
    await ensureDockerAndImage();
    sshd = await startSshd({ streamLocalForwarding: false });
  });
  after(async () => sshd?.stop());
  const access = () => ({
    kind: 'ssh' as const,
    id: 'srv_rrdrules' as never,
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    privateKey: sshd.userKey.privateKey,
    hostKey: sshd.hostKey.publicKey,
    storage: { kind: 'volume' as const },
  });

  it('refuses a server without a pinned host key', async () => {
    await assert.rejects(
      makeRemoteDockerDriver({ ...access(), hostKey: null }),
      (e: WorkloadError) => e.code === 'DRIVER_UNAVAILABLE' && /host key/.test(e.message),
    );
  });

  it('refuses a server whose host key changed', async () => {
    const other = await sshd.otherKey();
    await assert.rejects(
      makeRemoteDockerDriver({ ...access(), hostKey: other.publicKey }),
      (e: WorkloadError) => e.code === 'DRIVER_UNAVAILABLE',
    );
  });

  it('reaches the engine through docker system dial-stdio where forwarding is refused', async () => {
    const driver = await makeRemoteDockerDriver(access());
    try {
      const ids = await driver.list();
      assert.ok(Array.isArray(ids));
      assert.equal(await driver.status(`${PREFIX}nothing`), 'missing');
    } finally {
      await driver.close();
    }
  });
});
