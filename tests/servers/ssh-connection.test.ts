import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConnectionTestResult, ServerResources } from '../../edge/contract/src/servers.ts';
import {
  collectDockerResources,
  type DockerAccess,
  testDockerServer,
} from '../../runners/src/servers/docker-test.ts';
import { freePort } from '../harness/ports.ts';
import { type SshdServer, startSshd } from '../harness/sshd.ts';
import { ensureDockerAndImage, workspaceImage } from '../runner/docker-helper.ts';

const LIMIT_MS = 4000;
const opts = { image: workspaceImage, timeoutMs: LIMIT_MS, runnerId: 'run_test' };

describe('SSH server connection test (real sshd, real Docker engine)', () => {
  let sshd: SshdServer;
  let access: Extract<DockerAccess, { kind: 'ssh' }>;

  before(async () => {
    await ensureDockerAndImage();
    sshd = await startSshd();
    access = {
      kind: 'ssh',
      id: 'srv_sshtest' as never,
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      privateKey: sshd.userKey.privateKey,
      hostKey: sshd.hostKey.publicKey,
      storage: { kind: 'hostDir', path: '/tmp/keel-ssh-test-storage' },
    };
  });
  after(async () => {
    await sshd?.stop();
  });

  const check = async (a: DockerAccess) => {
    const started = Date.now();
    const r = await testDockerServer(a, opts);
    assert.ok(Date.now() - started < LIMIT_MS + 1000, `settled in ${Date.now() - started} ms`);
    ConnectionTestResult.parse(r);
    return r;
  };

  it('reports every figure of a working host', async () => {
    const r = await check(access);
    assert.equal(r.ok, true, r.message);
    assert.equal(r.code, undefined);
    assert.equal(r.reachable, true);
    assert.equal(r.authenticated, true);
    assert.equal(r.runnerId, 'run_test');
    assert.deepEqual(r.hostKey, {
      fingerprint: sshd.hostKey.fingerprint,
      algorithm: 'ssh-ed25519',
      publicKey: sshd.hostKey.publicKey,
      pinned: true,
      changed: false,
    });
    assert.match(r.system?.os ?? '', /\w/);
    assert.match(r.system?.kernel ?? '', /^\d+\.\d+/);
    assert.ok((r.system?.cpus ?? 0) >= 1);
    assert.ok((r.system?.memoryMb ?? 0) > 100);
    // The storage folder does not exist: the disk that would hold it is measured.
    assert.equal(r.system?.disk?.path, '/tmp/keel-ssh-test-storage');
    assert.ok((r.system?.disk?.totalMb ?? 0) > 0);
    assert.match(r.docker?.version ?? '', /^\d+\.\d+/);
    assert.match(r.docker?.apiVersion ?? '', /^1\.\d+$/);
    assert.equal(r.docker?.imagePresent, true);
  });

  it('says when the workspace image is missing', async () => {
    const r = await testDockerServer(access, { ...opts, image: 'keel-no-such-image:never' });
    assert.equal(r.ok, true);
    assert.equal(r.docker?.imagePresent, false);
  });

  it('measures the engine data root for named volumes', async () => {
    const r = await check({ ...access, storage: { kind: 'volume' } });
    assert.equal(r.ok, true, r.message);
    assert.ok(r.system?.disk?.path, 'a disk path');
  });

  it('refuses a user key the server does not know: auth_failed', async () => {
    const other = await sshd.otherKey();
    const r = await check({ ...access, privateKey: other.privateKey });
    assert.equal(r.ok, false);
    assert.equal(r.code, 'auth_failed');
    assert.equal(r.reachable, true);
    assert.equal(r.authenticated, false);
    assert.equal(r.hostKey?.changed, false);
  });

  it('refuses a host whose key is not the pinned one: host_key_changed, and asks nothing', async () => {
    const other = await sshd.otherKey();
    const r = await check({ ...access, hostKey: other.publicKey });
    assert.equal(r.ok, false);
    assert.equal(r.code, 'host_key_changed');
    assert.equal(r.authenticated, false);
    assert.equal(r.hostKey?.changed, true);
    assert.equal(r.hostKey?.pinned, true);
    assert.equal(r.hostKey?.fingerprint, sshd.hostKey.fingerprint, 'the key the host presented');
    assert.equal(r.system, undefined);
    assert.equal(r.docker, undefined);
  });

  it('offers the host key when none is pinned: host_key_unconfirmed with the ssh-keygen fingerprint', async () => {
    const r = await check({ ...access, hostKey: null });
    assert.equal(r.ok, false);
    assert.equal(r.code, 'host_key_unconfirmed');
    assert.equal(r.authenticated, true, 'the credential was still checked');
    assert.equal(r.hostKey?.fingerprint, sshd.hostKey.fingerprint);
    assert.equal(r.hostKey?.publicKey, sshd.hostKey.publicKey);
    assert.equal(r.hostKey?.pinned, false);
    assert.equal(r.docker, undefined, 'nothing is run on an unconfirmed host');
    // With an unknown user key too, the key is offered and the credential reported refused.
    const other = await sshd.otherKey();
    const r2 = await check({ ...access, hostKey: null, privateKey: other.privateKey });
    assert.equal(r2.code, 'auth_failed');
    assert.equal(r2.hostKey?.fingerprint, sshd.hostKey.fingerprint);
  });

  it('a closed port: unreachable', async () => {
    const r = await check({ ...access, port: await freePort() });
    assert.equal(r.ok, false);
    assert.equal(r.code, 'unreachable');
    assert.equal(r.reachable, false);
  });

  it('a server that accepts and never speaks: timeout within the limit', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      const r = await testDockerServer({ ...access, port }, { ...opts, timeoutMs: 1500 });
      const took = Date.now() - started;
      assert.equal(r.code, 'timeout');
      assert.equal(r.reachable, true);
      assert.ok(took >= 1000 && took < 2500, `took ${took} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('a private key that is not one: invalid_config, not a crash', async () => {
    const bad = '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
    const r = await check({ ...access, privateKey: bad });
    assert.equal(r.ok, false);
    assert.equal(r.code, 'invalid_config');
  });

  it('collects resources with the running workspace count', async () => {
    const r = ServerResources.parse(await collectDockerResources(access, opts));
    assert.equal(r.ok, true);
    assert.ok(r.cpus >= 1);
    assert.ok(r.memoryMb > 100);
    assert.ok(r.memoryFreeMb !== null && r.memoryFreeMb > 0);
    assert.ok(r.disk && r.disk.freeMb > 0);
    assert.ok(r.workspacesRunning >= 0);
    const unpinned = await collectDockerResources({ ...access, hostKey: null }, opts);
    assert.equal(unpinned.ok, false);
    assert.equal(unpinned.code, 'host_key_unconfirmed');
  });
});
