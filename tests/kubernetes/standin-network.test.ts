/*
 * The API stand-in's pod network, which the conformance suite's network checks rely on: every
 * pod has an interface besides loopback, and its NetworkPolicies decide what leaves it, as a
 * CNI plugin would enforce them. Checked first on the scripts made from policies, then with
 * real pods of the kubernetes driver reaching (or not) a TCP server on this host.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { hostIPv4Addresses } from '../../runners/src/workloads/egress-rules.ts';
import { KubernetesWorkloadDriver } from '../../runners/src/workloads/kubernetes.ts';
import {
  defaultDenyManifest,
  egressManifest,
  WORKSPACE_LABEL,
  workloadName,
} from '../../runners/src/workloads/kubernetes-objects.ts';
import type { WorkloadSpec } from '../../runners/src/workloads/types.ts';
import { STANDIN_LABEL } from '../harness/kubernetes-api-standin/docker-pods.ts';
import { egressScript, type PolicySpec } from '../harness/kubernetes-api-standin/pod-network.ts';
import {
  type KubernetesApiStandin,
  startKubernetesApiStandin,
} from '../harness/kubernetes-api-standin/server.ts';
import { ensureDockerAndImage } from '../runner/docker-helper.ts';
import { collect } from '../runner/exec-util.ts';
import { readmeClusterRole } from './readme-rbac.ts';

const spec = (p: { spec?: unknown }) => p.spec as PolicySpec;

describe('API stand-in: NetworkPolicies as nft rules', () => {
  const labels = { [WORKSPACE_LABEL]: 'ws-a' };

  it('leaves a pod no policy restricts open, and denies all to a default-deny one', () => {
    assert.equal(egressScript(labels, []), undefined);
    assert.equal(egressScript(labels, [{ podSelector: {}, policyTypes: ['Ingress'] }]), undefined);
    const deny = egressScript(labels, [spec(defaultDenyManifest())]);
    assert.ok(deny?.includes('policy drop;'));
    assert.deepEqual(
      deny?.split('\n').filter((l) => l.trim().endsWith('accept')),
      ['    oif "lo" accept', '    ct state established,related accept'],
    );
  });

  it("opens what the driver's egress policy allows, for the pod it selects only", () => {
    const policies = [spec(defaultDenyManifest()), spec(egressManifest('ws-a', ['198.51.100.0/24:443']))];
    const script = egressScript(labels, policies, 'keel-org-x') ?? '';
    assert.match(script, /ip daddr 10\.0\.2\.3 udp dport 53 accept/);
    assert.match(script, /ip daddr 10\.0\.2\.3 tcp dport 53 accept/);
    assert.match(script, /ip daddr 0\.0\.0\.0\/0 ip daddr != \{ 0\.0\.0\.0\/8, 10\.0\.0\.0\/8, .*\} accept/);
    assert.match(script, /ip daddr 198\.51\.100\.0\/24 tcp dport 443 accept/);
    const other = egressScript({ [WORKSPACE_LABEL]: 'ws-b' }, policies, 'keel-org-x') ?? '';
    assert.doesNotMatch(other, /198\.51\.100|10\.0\.2\.3/);
  });

  it('matches the DNS pod only by a selector that names it', () => {
    const to = (peer: object) => [{ podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [peer] }] }];
    const wrongNs = egressScript(
      labels,
      to({ podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }),
      'x',
    );
    assert.doesNotMatch(wrongNs ?? '', /10\.0\.2\.3/, 'a pod selector alone means the policy’s namespace');
    const anyNs = egressScript(labels, to({ namespaceSelector: {} }), 'x');
    assert.match(anyNs ?? '', /ip daddr 10\.0\.2\.3 accept/);
  });
});

describe('API stand-in: pods on their network', () => {
  const ORG = 'org_nnnnnnnnnnnnnnnnnnnn';
  const base = `ws_k8snet${process.pid}`;
  let standin: KubernetesApiStandin;
  let driver: KubernetesWorkloadDriver;
  let server: Server;
  let host: string;
  let port: number;
  const made: string[] = [];

  const workload = (id: string, over: Partial<WorkloadSpec>): WorkloadSpec => ({
    workspaceId: id,
    cpus: 0.5,
    memoryMb: 128,
    network: false,
    storage: { kind: 'volume' },
    organizationId: ORG,
    ...over,
  });
  const up = async (name: string, over: Partial<WorkloadSpec>) => {
    const id = `${base}-${name}`;
    made.push(id);
    await driver.create(workload(id, over));
    await driver.start(id);
    return id;
  };
  /** Whether the workspace connects to the server within a second (a dropped SYN never answers). */
  const reaches = async (id: string, to = { host, port }) => {
    const script = `const s=require('net').connect(${to.port},'${to.host}');s.on('connect',()=>{console.log('open');process.exit(0)});s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(2),1000)`;
    const r = await collect(driver.exec(id, { argv: ['node', '-e', script] }));
    return r.stdout === 'open\n';
  };

  before(async () => {
    await ensureDockerAndImage();
    const address = hostIPv4Addresses()[0];
    assert.ok(address, 'this host has an IPv4 address besides loopback');
    host = address;
    server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, host, r));
    port = (server.address() as { port: number }).port;
    standin = await startKubernetesApiStandin({
      instance: `k8s-net-${process.pid}`,
      users: [{ name: 'keel-runner', rules: readmeClusterRole() }],
    });
    driver = new KubernetesWorkloadDriver(await standin.access('keel-runner'), { startTimeoutMs: 30_000 });
  });

  after(async () => {
    for (const id of made) await driver?.remove(id, { keepData: false }).catch(() => {});
    await driver?.close();
    await standin?.stop();
    server?.close();
  });

  it('every pod has an interface; only what its policy allows leaves it, also after the policy changes', async () => {
    const open = await up('open', { network: true, egressAllow: [`${host}/32:${port}`] });
    const closed = await up('closed', { network: false });
    for (const id of [open, closed]) {
      const r = await collect(driver.exec(id, { argv: ['sh', '-c', 'grep -c : /proc/net/dev'] }));
      assert.ok(Number(r.stdout) >= 2, `${id}: an interface besides loopback: ${r.stdout}`);
    }
    assert.equal(await reaches(open), true, 'the allowed destination is reached');
    assert.equal(await reaches(closed), false, 'default deny: nothing leaves');
    // The policy changed behind the driver's back is enforced at once: replaced, then deleted.
    const namespace = (await driver.podRef(open)).namespace;
    const name = `${workloadName(open)}-egress`;
    const policy = await driver.api.networking.readNamespacedNetworkPolicy({ name, namespace });
    const only = (cidr: string) => ({ ...policy.spec!, egress: [{ to: [{ ipBlock: { cidr } }] }] });
    await driver.api.networking.replaceNamespacedNetworkPolicy({
      name,
      namespace,
      body: { ...policy, spec: only('198.51.100.7/32') },
    });
    assert.equal(await reaches(open), false, 'a replaced policy that no longer lists the host');
    const again = await driver.api.networking.readNamespacedNetworkPolicy({ name, namespace });
    await driver.api.networking.replaceNamespacedNetworkPolicy({
      name,
      namespace,
      body: { ...again, spec: only(`${host}/32`) },
    });
    assert.equal(await reaches(open), true, 'a replaced policy that lists it again');
    await driver.api.networking.deleteNamespacedNetworkPolicy({ name, namespace });
    assert.equal(await reaches(open), false, 'the default deny once the egress policy is gone');
    const resolv = await collect(driver.exec(open, { argv: ['cat', '/etc/resolv.conf'] }));
    assert.match(resolv.stdout, /nameserver 10\.0\.2\.3/);
  });

  it("a network workspace reaches no node address (this host's, where every stand-in node runs) unless allowed", async () => {
    const id = await up('nodes', { network: true });
    assert.equal(await reaches(id), false, 'the node is closed although its address is not private');
    const namespace = (await driver.podRef(id)).namespace;
    const policy = await driver.api.networking.readNamespacedNetworkPolicy({
      name: `${workloadName(id)}-egress`,
      namespace,
    });
    const open = policy.spec?.egress?.flatMap((r) => r.to ?? []).find((t) => t.ipBlock?.cidr === '0.0.0.0/0');
    assert.ok(
      open?.ipBlock?.except?.includes(`${host}/32`),
      'the node address is an exception to the internet',
    );
  });

  it('a network workspace reaches neither Redis, PostgreSQL, the host through the gateway, nor the metadata address', async () => {
    const id = await up('control', { network: true });
    const redisPort = Number(
      new URL(process.env.KEEL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379').port || 6379,
    );
    const pgPort = Number(new URL(process.env.KEEL_TEST_PG_URL ?? 'postgres://127.0.0.1:5432').port || 5432);
    for (const to of [
      { host, port: redisPort },
      { host, port: pgPort },
      { host: '10.0.2.2', port: redisPort },
      { host: '10.0.2.2', port: pgPort },
      { host: '10.0.2.2', port },
      { host: '169.254.169.254', port: 80 },
    ]) {
      assert.equal(await reaches(id, to), false, `${to.host}:${to.port} stays closed`);
    }
  });

  it('a removed pod leaves no slirp4netns behind', async () => {
    const id = await up('gone', { network: true });
    const [c] = await new Docker().listContainers({
      filters: {
        label: [`io.kubernetes.pod.name=${workloadName(id)}`, `${STANDIN_LABEL}=k8s-net-${process.pid}`],
      },
    });
    assert.ok(c, 'the pod’s container');
    const { State } = await new Docker().getContainer(c.Id).inspect();
    const slirps = () =>
      execFileSync('sh', ['-c', `pgrep -f 'slirp4net[n]s .* ${State.Pid} tap0' || true`])
        .toString()
        .trim();
    assert.notEqual(slirps(), '', 'the pod is connected');
    await driver.remove(id, { keepData: false });
    assert.equal(slirps(), '');
  });
});
