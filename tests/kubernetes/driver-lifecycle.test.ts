import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { type KubernetesDriver, makeKubernetesDriver } from '../../runners/src/workloads/kubernetes.ts';
import { WorkloadError, type WorkloadSpec } from '../../runners/src/workloads/types.ts';
import {
  type KubernetesApiStandin,
  startKubernetesApiStandin,
} from '../harness/kubernetes-api-standin/server.ts';
import { ensureDockerAndImage } from '../runner/docker-helper.ts';
import { collect, sleep, waitForOutput } from '../runner/exec-util.ts';
import { readmeClusterRole } from './readme-rbac.ts';

const ORG = 'org_aaaaaaaaaaaaaaaaaaaa';
const id = `ws_k8slife${process.pid}`;
const spec = (over: Partial<WorkloadSpec> = {}): WorkloadSpec => ({
  workspaceId: id,
  cpus: 0.5,
  memoryMb: 128,
  network: false,
  storage: { kind: 'volume' },
  organizationId: ORG,
  ...over,
});

interface PodSpecView {
  automountServiceAccountToken: boolean;
  enableServiceLinks: boolean;
  securityContext: { runAsNonRoot: boolean; fsGroup: number; seccompProfile: { type: string } };
  containers: Array<{
    securityContext: {
      capabilities: { drop: string[] };
      allowPrivilegeEscalation: boolean;
      readOnlyRootFilesystem: boolean;
    };
    resources: { limits: Record<string, string>; requests: Record<string, string> };
  }>;
}

describe('kubernetes driver against the API stand-in', () => {
  let standin: KubernetesApiStandin;
  let driver: KubernetesDriver;
  const docker = new Docker();

  before(async () => {
    await ensureDockerAndImage();
    // The credential has exactly the rights the README lists, and nothing more.
    standin = await startKubernetesApiStandin({
      instance: `k8s-life-${process.pid}`,
      users: [{ name: 'keel-runner', rules: readmeClusterRole() }],
    });
    driver = await makeKubernetesDriver(await standin.access('keel-runner'), { startTimeoutMs: 30_000 });
    await driver.create(spec());
    await driver.start(id);
  });

  after(async () => {
    await driver?.remove(id, { keepData: false }).catch(() => {});
    await driver?.close();
    await standin?.stop();
  });

  it('runs the workspace as a hardened pod in its organization namespace', async () => {
    const orgNs = standin.store
      .list('namespaces')
      .map((n) => n.metadata.name)
      .find((n) => n.startsWith('keel-org-'));
    assert.ok(orgNs, 'an organization namespace');
    const [pod] = standin.store.list('pods', orgNs);
    assert.ok(pod);
    const podSpec = pod.spec as unknown as PodSpecView;
    assert.equal(podSpec.automountServiceAccountToken, false);
    assert.equal(podSpec.enableServiceLinks, false);
    assert.equal(podSpec.securityContext.runAsNonRoot, true);
    assert.equal(podSpec.securityContext.fsGroup, 1000);
    assert.equal(podSpec.securityContext.seccompProfile.type, 'RuntimeDefault');
    const c = podSpec.containers[0]!;
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(c.resources.limits, { cpu: '500m', memory: '128Mi' });
    assert.deepEqual(c.resources.requests, c.resources.limits);

    // And the engine really runs it that way.
    const [info] = await docker.listContainers({
      filters: { label: [`io.kubernetes.pod.name=${pod.metadata.name}`] },
    });
    const inspect = await docker.getContainer(info!.Id).inspect();
    assert.equal(inspect.Config.User, '1000:1000');
    assert.equal(inspect.HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(inspect.HostConfig.CapDrop, ['ALL']);
    assert.deepEqual(inspect.HostConfig.SecurityOpt, ['no-new-privileges']);
    assert.equal(inspect.HostConfig.NanoCpus, 500_000_000);
    assert.equal(inspect.HostConfig.Memory, 128 * 1024 * 1024);
    assert.equal(await driver.status(id), 'running');
  });

  it('runs commands: output, exit codes, cwd, env, as uid 1000 on a read-only root', async () => {
    const r = await collect(
      driver.exec(id, {
        argv: [
          'sh',
          '-c',
          'id -u; pwd; echo "$GREETING"; touch /etc/x 2>/dev/null || echo ro; echo err >&2; exit 7',
        ],
        cwd: 'sub/..',
        env: { GREETING: 'hi there' },
      }),
    );
    assert.equal(r.stdout, '1000\n/workspace\nhi there\nro\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.exitCode, 7);
    const ok = await collect(driver.exec(id, { argv: ['true'] }));
    assert.equal(ok.exitCode, 0);
  });

  it('feeds stdin and closes it', async () => {
    const h = driver.exec(id, { argv: ['sh', '-c', 'cat; echo done'], stdin: true });
    assert.ok(h.stdin);
    h.stdin.write('line one\n');
    h.stdin.end('line two\n');
    const r = await collect(h);
    assert.equal(r.stdout, 'line one\nline two\ndone\n');
    assert.equal(r.exitCode, 0);
  });

  it('kills a command and what it started', async () => {
    const h = driver.exec(id, { argv: ['sh', '-c', 'sleep 300 & sleep 301; echo never'] });
    await sleep(300);
    const started = Date.now();
    await h.kill();
    const r = await h.done;
    assert.equal(r.killed, true);
    assert.equal(r.exitCode, null);
    assert.ok(Date.now() - started < 10_000);
    const ps = await collect(
      driver.exec(id, {
        argv: ['sh', '-c', 'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; done'],
      }),
    );
    assert.ok(!/sleep 30[01]/.test(ps.stdout), ps.stdout);
  });

  it('times a command out', async () => {
    const r = await collect(driver.exec(id, { argv: ['sleep', '30'], timeoutMs: 500 }));
    assert.equal(r.timedOut, true);
    assert.equal(r.exitCode, null);
  });

  it('streams output as it is written', async () => {
    const h = driver.exec(id, { argv: ['sh', '-c', 'echo first; sleep 2; echo second'] });
    const t = Date.now();
    await waitForOutput(h, 'first');
    assert.ok(Date.now() - t < 1800, 'first line before the command ends');
    await h.done;
  });

  it('stop keeps the claim: a file written before is there after start', async () => {
    const w = await collect(driver.exec(id, { argv: ['sh', '-c', 'echo kept > /workspace/kept.txt'] }));
    assert.equal(w.exitCode, 0, w.stderr);
    // A runner keeps the files it was given across stop and start.
    const files = await driver.files(id);
    assert.equal((await files.readFile('kept.txt')).toString(), 'kept\n');
    await driver.stop(id);
    assert.equal(await driver.status(id), 'stopped');
    // A claim without a pod is a stopped workspace: not running, not missing.
    const stopped = await driver.exec(id, { argv: ['true'] }).done.catch((e: unknown) => e);
    assert.ok(stopped instanceof WorkloadError, String(stopped));
    assert.equal(stopped.code, 'WORKLOAD_NOT_RUNNING');
    await driver.start(id);
    const r = await collect(driver.exec(id, { argv: ['cat', '/workspace/kept.txt'] }));
    assert.equal(r.stdout, 'kept\n');
    assert.equal((await files.readFile('kept.txt')).toString(), 'kept\n');
  });

  it('a created workspace that never started is stopped: exec says not running', async () => {
    const fresh = `${id}-new`;
    await driver.create(spec({ workspaceId: fresh }));
    try {
      assert.equal(await driver.status(fresh), 'stopped');
      await assert.rejects(
        driver.exec(fresh, { argv: ['true'] }).done,
        (e: unknown) => e instanceof WorkloadError && e.code === 'WORKLOAD_NOT_RUNNING',
      );
      await assert.rejects(
        driver.exec(`${id}-none`, { argv: ['true'] }).done,
        (e: unknown) => e instanceof WorkloadError && e.code === 'WORKLOAD_NOT_FOUND',
      );
    } finally {
      await driver.remove(fresh, { keepData: false });
    }
  });

  it('lists and reports states; a new driver finds the workspace again', async () => {
    assert.deepEqual(await driver.list(), [id]);
    assert.deepEqual((await driver.states()).get(id), { status: 'running' });
    const fresh = await makeKubernetesDriver(await standin.access('keel-runner', { via: 'cert' }));
    assert.equal(await fresh.status(id), 'running');
    await fresh.close();
  });

  it('refuses host folders and has no host path', async () => {
    await assert.rejects(
      driver.create(spec({ workspaceId: `${id}-h`, storage: { kind: 'hostDir', path: '/tmp/x' } })),
      (e: unknown) => e instanceof WorkloadError && e.code === 'DRIVER_UNAVAILABLE',
    );
    await assert.rejects(
      driver.workspaceRoot(id),
      (e: unknown) => e instanceof WorkloadError && e.code === 'DRIVER_UNAVAILABLE',
    );
  });

  it('reaches the files through the file agent, confined to /workspace', async () => {
    const files = await driver.files(id);
    await files.writeFile('notes/a.txt', 'hello from the agent', { createParents: true });
    assert.equal((await files.readFile('notes/a.txt')).toString(), 'hello from the agent');
    const r = await collect(driver.exec(id, { argv: ['cat', '/workspace/notes/a.txt'] }));
    assert.equal(r.stdout, 'hello from the agent');
    await assert.rejects(files.readFile('../etc/passwd'));
  });

  it('gives a network workspace its egress policy; the namespace denies by default', async () => {
    const netId = `${id}-net`;
    await driver.create(spec({ workspaceId: netId, network: true, egressAllow: ['198.51.100.0/24:443'] }));
    await driver.start(netId);
    const ns = standin.store
      .list('namespaces')
      .map((n) => n.metadata.name)
      .find((n) => n.startsWith('keel-org-'));
    const policies = standin.store.list('networkpolicies', ns);
    const deny = policies.find((p) => p.metadata.name === 'keel-default-deny');
    assert.ok(deny, 'the default-deny policy');
    const denySpec = deny.spec as { podSelector: unknown; policyTypes: string[] };
    assert.deepEqual(denySpec.podSelector, {});
    assert.deepEqual(denySpec.policyTypes, ['Ingress', 'Egress']);
    const egress = policies.find((p) => p.metadata.name.endsWith('-egress'));
    assert.ok(egress, 'an egress policy for the network workspace');
    const text = JSON.stringify(egress.spec);
    for (const closed of ['10.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8'])
      assert.ok(text.includes(closed), `${closed} closed`);
    assert.ok(text.includes('"cidr":"198.51.100.0/24"') && text.includes('"port":443'), text);
    assert.ok(text.includes('kube-dns') && text.includes('"port":53'), 'DNS allowed');
    // A start takes the install's current list.
    await driver.start(netId, { egressAllow: ['198.51.100.7/32'] });
    const updated = JSON.stringify(standin.store.get('networkpolicies', ns, egress.metadata.name)?.spec);
    assert.ok(updated.includes('198.51.100.7/32') && !updated.includes('198.51.100.0/24'), updated);
    await driver.remove(netId, { keepData: false });
    assert.equal(standin.store.get('networkpolicies', ns, egress.metadata.name), undefined);
    // The workspace without network has no egress policy at all.
    assert.equal(
      standin.store.list('networkpolicies', ns).filter((p) => p.metadata.name.endsWith('-egress')).length,
      0,
    );
  });

  it('requests GPUs, and says clearly when no node has them or the image is missing', async () => {
    const quick = await makeKubernetesDriver(await standin.access('keel-runner'), { startTimeoutMs: 1500 });
    const gpuId = `${id}-gpu`;
    await quick.create(spec({ workspaceId: gpuId, gpus: 1 }));
    await quick.start(gpuId);
    const pod = standin.store
      .list('pods')
      .find((p) => p.metadata.annotations?.['keel.dev/workspace-id'] === gpuId);
    assert.ok(pod, 'the GPU workspace pod');
    const podSpec = pod.spec as { containers: Array<{ resources: { limits: Record<string, string> } }> };
    const limits = podSpec.containers[0]?.resources.limits;
    assert.equal(limits?.['nvidia.com/gpu'], '1');
    await quick.remove(gpuId, { keepData: false });

    await quick.create(spec({ workspaceId: gpuId, gpus: 4 }));
    await assert.rejects(quick.start(gpuId), (e: unknown) => {
      assert.ok(e instanceof WorkloadError && e.code === 'DRIVER_UNAVAILABLE');
      assert.match(e.message, /Insufficient nvidia\.com\/gpu/);
      return true;
    });
    await quick.remove(gpuId, { keepData: false });

    const badId = `${id}-img`;
    await quick.create(spec({ workspaceId: badId, image: 'keel-no-such-image:latest' }));
    const t = Date.now();
    await assert.rejects(quick.start(badId), /ErrImagePull/);
    assert.ok(Date.now() - t < 1500, 'an image that cannot be pulled fails at once');
    await quick.remove(badId, { keepData: false });
    await assert.rejects(quick.create(spec({ workspaceId: badId, gpus: -1 })), /gpus/);
    await quick.close();
  });

  it('remove with keepData keeps the claim for a later create of the same workspace', async () => {
    const keptId = `${id}-kept`;
    await driver.create(spec({ workspaceId: keptId }));
    await driver.start(keptId);
    await collect(driver.exec(keptId, { argv: ['sh', '-c', 'echo still > /workspace/f'] }));
    await driver.remove(keptId, { keepData: true });
    assert.equal(await driver.status(keptId), 'missing');
    assert.ok(!(await driver.list()).includes(keptId));
    await driver.create(spec({ workspaceId: keptId }));
    await driver.start(keptId);
    assert.equal((await collect(driver.exec(keptId, { argv: ['cat', '/workspace/f'] }))).stdout, 'still\n');
    await driver.remove(keptId, { keepData: false });
  });

  it('remove deletes pod and claim', async () => {
    await driver.remove(id, { keepData: false });
    assert.equal(await driver.status(id), 'missing');
    assert.deepEqual(await driver.list(), []);
    await driver.remove(id, { keepData: false });
  });

  it('sent the API server nothing it refused as invalid, and needed no right beyond the README', () => {
    assert.deepEqual(standin.refused, []);
    assert.deepEqual(standin.denied, []);
  });
});
