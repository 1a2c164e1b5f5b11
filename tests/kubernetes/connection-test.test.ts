import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  collectKubernetesResources,
  type KubernetesAccess,
  testKubernetesServer,
} from '../../runners/src/servers/kubernetes-test.ts';
import { makeKubernetesDriver } from '../../runners/src/workloads/kubernetes.ts';
import {
  type KubernetesApiStandin,
  startKubernetesApiStandin,
} from '../harness/kubernetes-api-standin/server.ts';
import { freePort } from '../harness/ports.ts';
import { ensureDockerAndImage } from '../runner/docker-helper.ts';
import { readmeClusterRole } from './readme-rbac.ts';

const probe = { image: 'keel-workspace:bookworm', timeoutMs: 3000, runnerId: 'rnr_aaaaaaaaaaaaaaaaaaaa' };

describe('kubernetes connection test and resources against the API stand-in', () => {
  let standin: KubernetesApiStandin;
  let silent: Server;
  const sockets = new Set<Socket>();

  before(async () => {
    await ensureDockerAndImage();
    standin = await startKubernetesApiStandin({
      instance: `k8s-conn-${process.pid}`,
      users: [
        { name: 'keel-runner', rules: readmeClusterRole() },
        { name: 'nobody', rules: [] },
        // May read, may not open the network to workspaces.
        {
          name: 'no-policies',
          rules: readmeClusterRole().filter((r) => !r.resources?.includes('networkpolicies')),
        },
      ],
    });
    // Accepts connections and never answers: a hung API server.
    silent = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent?.close(r));
    await standin?.stop();
  });

  it('reports version, nodes with capacity and GPUs, pods, and what the credential may create', async () => {
    const r = await testKubernetesServer(await standin.access('keel-runner'), probe);
    assert.equal(r.ok, true, r.message);
    assert.equal(r.code, undefined);
    assert.equal(r.reachable, true);
    assert.equal(r.authenticated, true);
    assert.equal(r.runnerId, probe.runnerId);
    assert.equal(r.kubernetes?.version, 'v1.30.0');
    assert.deepEqual(r.kubernetes?.nodes[0], {
      name: 'standin-node-1',
      ready: true,
      capacity: { cpus: 8, memoryMb: 32012, gpus: 1 },
      allocatable: { cpus: 7.91, memoryMb: 30888, gpus: 1 },
    });
    assert.deepEqual(r.kubernetes?.nodes[1]?.allocatable, { cpus: 3.8, memoryMb: 15360, gpus: 0 });
    assert.equal(r.kubernetes?.pods, 0);
    assert.deepEqual(r.kubernetes?.can, {
      createPods: true,
      createPersistentVolumeClaims: true,
      createNetworkPolicies: true,
      createNamespaces: true,
    });
    assert.match(r.message, /v1\.30\.0: 2 nodes, 0 pods/);
  });

  it('authenticates with a client certificate too, counts pods and sums resources', async () => {
    const access = await standin.access('keel-runner', { via: 'cert' });
    const driver = await makeKubernetesDriver(access);
    const ids = ['ws_connpods1', 'ws_connpods2'];
    try {
      for (const id of ids) {
        await driver.create({
          workspaceId: id,
          cpus: 0.25,
          memoryMb: 64,
          network: false,
          storage: { kind: 'volume' },
        });
        await driver.start(id);
      }
      const r = await testKubernetesServer(access, probe);
      assert.equal(r.ok, true, r.message);
      assert.equal(r.kubernetes?.pods, 2);
      const res = await collectKubernetesResources(access, probe);
      assert.deepEqual(
        { ...res, at: undefined },
        {
          at: undefined,
          ok: true,
          cpus: 11.71,
          memoryMb: 30888 + 15360,
          memoryFreeMb: null,
          disk: null,
          gpus: 1,
          workspacesRunning: 2,
        },
      );
    } finally {
      for (const id of ids) await driver.remove(id, { keepData: false });
      await driver.close();
    }
  });

  it('auth_failed for a wrong token', async () => {
    const access: KubernetesAccess = { ...(await standin.access('keel-runner')), token: 'not-a-token' };
    const r = await testKubernetesServer(access, probe);
    assert.equal(r.code, 'auth_failed');
    assert.equal(r.ok, false);
    assert.equal(r.reachable, true);
    assert.equal(r.authenticated, false);
    const res = await collectKubernetesResources(access, probe);
    assert.equal(res.ok, false);
    assert.equal(res.code, 'auth_failed');
  });

  it('tls_failed for a CA that did not sign the server', async () => {
    const access: KubernetesAccess = {
      ...(await standin.access('keel-runner')),
      ca: await standin.pki.otherCa(),
    };
    const r = await testKubernetesServer(access, probe);
    assert.equal(r.code, 'tls_failed', r.message);
    assert.equal(r.authenticated, false);
  });

  it('unreachable for a closed port', async () => {
    const port = await freePort();
    const access: KubernetesAccess = {
      ...(await standin.access('keel-runner')),
      url: `https://127.0.0.1:${port}`,
    };
    const r = await testKubernetesServer(access, probe);
    assert.equal(r.code, 'unreachable', r.message);
    assert.equal(r.reachable, false);
  });

  it('timeout, within the time given, for a server that never answers', async () => {
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const access: KubernetesAccess = {
      ...(await standin.access('keel-runner')),
      url: `https://127.0.0.1:${port}`,
    };
    const t = Date.now();
    const r = await testKubernetesServer(access, { ...probe, timeoutMs: 1000 });
    assert.equal(r.code, 'timeout', r.message);
    assert.ok(Date.now() - t < 2500, `settled in ${Date.now() - t} ms`);
    const res = await collectKubernetesResources(access, { ...probe, timeoutMs: 1000 });
    assert.equal(res.code, 'timeout');
  });

  it('forbidden when the credential may not even read the cluster', async () => {
    const r = await testKubernetesServer(await standin.access('nobody'), probe);
    assert.equal(r.code, 'forbidden', r.message);
    assert.equal(r.authenticated, true);
    assert.match(r.message, /cannot list resource "nodes"/);
  });

  it('forbidden, with what is missing, when the credential may not create network policies', async () => {
    const r = await testKubernetesServer(await standin.access('no-policies'), probe);
    assert.equal(r.ok, false);
    assert.equal(r.code, 'forbidden');
    assert.equal(r.kubernetes?.can.createNetworkPolicies, false);
    assert.equal(r.kubernetes?.can.createPods, true);
    assert.match(r.message, /networkpolicies/);
  });

  it('invalid_config without a credential', async () => {
    const { token: _t, ...rest } = await standin.access('keel-runner');
    const r = await testKubernetesServer(rest, probe);
    assert.equal(r.code, 'invalid_config');
  });
});
