import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConnectionTestResult, ServerResources } from '../../edge/contract/src/servers.ts';
import {
  collectDockerResources,
  type DockerAccess,
  testDockerServer,
} from '../../runners/src/servers/docker-test.ts';
import { startTlsDockerEngine, type TlsDockerEngine } from '../harness/docker-tls.ts';
import { freePort } from '../harness/ports.ts';
import { ensureDockerAndImage, workspaceImage } from '../runner/docker-helper.ts';

const LIMIT_MS = 5000;
const opts = { image: workspaceImage, timeoutMs: LIMIT_MS, runnerId: 'run_test' };

describe('docker-tls server connection test (a second real dockerd with --tlsverify)', () => {
  let engine: TlsDockerEngine;
  let access: Extract<DockerAccess, { kind: 'docker-tls' }>;

  before(async () => {
    await ensureDockerAndImage();
    engine = await startTlsDockerEngine();
    access = {
      kind: 'docker-tls',
      id: 'srv_tlstest' as never,
      host: engine.host,
      port: engine.port,
      ...engine.client,
      storage: { kind: 'volume' },
    };
  });
  after(async () => {
    await engine?.stop();
  });

  const check = async (a: DockerAccess) => {
    const started = Date.now();
    const r = await testDockerServer(a, opts);
    assert.ok(Date.now() - started < LIMIT_MS + 1000, `settled in ${Date.now() - started} ms`);
    ConnectionTestResult.parse(r);
    return r;
  };

  it('reports every figure of a working engine', async () => {
    const r = await check(access);
    assert.equal(r.ok, true, r.message);
    assert.equal(r.reachable, true);
    assert.equal(r.authenticated, true);
    assert.equal(r.hostKey, undefined);
    assert.match(r.system?.os ?? '', /\w/);
    assert.match(r.system?.kernel ?? '', /^\d+\.\d+/);
    assert.ok((r.system?.cpus ?? 0) >= 1);
    assert.ok((r.system?.memoryMb ?? 0) > 100);
    assert.ok((r.system?.disk?.totalMb ?? 0) > 0, 'the disk named volumes live on');
    assert.match(r.docker?.version ?? '', /^\d+\.\d+/);
    assert.match(r.docker?.apiVersion ?? '', /^1\.\d+$/);
    assert.equal(r.docker?.imagePresent, true);
    // The helper that measured the disk is gone.
    assert.equal((await engine.cli('ps', '-aq', '--filter', 'label=keel.helper')).trim(), '');
  });

  it('measures an admin storage folder through a helper container', async () => {
    const r = await check({ ...access, storage: { kind: 'hostDir', path: '/tmp' } });
    assert.equal(r.ok, true, r.message);
    assert.equal(r.system?.disk?.path, '/tmp');
    assert.ok((r.system?.disk?.freeMb ?? 0) > 0);
  });

  it('an engine certificate not signed by the given CA: tls_failed', async () => {
    const r = await check({ ...access, ca: engine.otherCa });
    assert.equal(r.ok, false);
    assert.equal(r.code, 'tls_failed');
    assert.equal(r.reachable, true);
    assert.equal(r.authenticated, false);
  });

  it('a client certificate the engine does not trust: tls_failed', async () => {
    const r = await check({ ...access, ...engine.otherClient });
    assert.equal(r.ok, false);
    assert.equal(r.code, 'tls_failed');
    assert.equal(r.authenticated, false);
  });

  it('a plain TCP service that is not TLS: tls_failed, not a hang', async () => {
    const plain: Server = createServer((s) => s.end('HTTP/1.1 200 OK\r\n\r\n'));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    try {
      const r = await check({ ...access, port: (plain.address() as { port: number }).port });
      assert.equal(r.code, 'tls_failed');
    } finally {
      plain.close();
    }
  });

  it('a closed port: unreachable', async () => {
    const r = await check({ ...access, port: await freePort() });
    assert.equal(r.code, 'unreachable');
    assert.equal(r.reachable, false);
  });

  it('a server that accepts and never speaks: timeout within the limit', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const started = Date.now();
      const r = await testDockerServer(
        { ...access, port: (silent.address() as { port: number }).port },
        { ...opts, timeoutMs: 1500 },
      );
      const took = Date.now() - started;
      assert.equal(r.code, 'timeout');
      assert.equal(r.reachable, true);
      assert.ok(took >= 1000 && took < 2500, `took ${took} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('collects resources', async () => {
    const r = ServerResources.parse(await collectDockerResources(access, opts));
    assert.equal(r.ok, true);
    assert.ok(r.cpus >= 1);
    assert.ok(r.disk && r.disk.totalMb > 0);
    assert.equal(r.workspacesRunning, 0);
    const refused = await collectDockerResources({ ...access, ...engine.otherClient }, opts);
    assert.equal(refused.ok, false);
    assert.equal(refused.code, 'tls_failed');
  });
});
