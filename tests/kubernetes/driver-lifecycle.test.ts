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
    standin = await startKubernetesApiStandin({ instance: `k8s-life-${process.pid}` });
    driver = await makeKubernetesDriver(await standin.access('keel-admin'), { startTimeoutMs: 30_000 });
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
    await driver.stop(id);
    assert.equal(await driver.status(id), 'stopped');
    const stopped = await driver.exec(id, { argv: ['true'] }).done.catch((e: unknown) => e);
    assert.ok(stopped instanceof WorkloadError, String(stopped));
    assert.ok(['WORKLOAD_NOT_RUNNING', 'WORKLOAD_NOT_FOUND'].includes(stopped.code));
    await driver.start(id);
    const r = await collect(driver.exec(id, { argv: ['cat', '/workspace/kept.txt'] }));
    assert.equal(r.stdout, 'kept\n');
  });

  it('lists and reports states; a new driver finds the workspace again', async () => {
    assert.deepEqual(await driver.list(), [id]);
    assert.deepEqual((await driver.states()).get(id), { status: 'running' });
    const fresh = await makeKubernetesDriver(await standin.access('keel-admin'));
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

  it('sent the API server nothing it refused as invalid', () => {
    assert.deepEqual(standin.refused, []);
  });

  it('remove deletes pod and claim', async () => {
    await driver.remove(id, { keepData: false });
    assert.equal(await driver.status(id), 'missing');
    assert.deepEqual(await driver.list(), []);
    await driver.remove(id, { keepData: false });
  });
});
