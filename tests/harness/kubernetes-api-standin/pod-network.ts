/*
 * The stand-in's pod network and its NetworkPolicy enforcement: what a CNI plugin does on a
 * cluster. As there, every pod has a network namespace of its own with an interface besides
 * loopback, whatever its policies; the policies then decide what may leave it.
 *
 * - The interface: slirp4netns on the pod container's first process (a user-mode stack that opens
 *   ordinary sockets on this host, the host's loopback turned off), the way the docker driver
 *   connects a workspace. Its resolver, 10.0.2.3, is the cluster's DNS: the stand-in's one
 *   kube-dns pod (namespace kube-system, label k8s-app=kube-dns), which policies may name.
 * - Egress: nft rules in the pod's namespace, made here from the NetworkPolicies that select the
 *   pod (Kubernetes' semantics: none of type Egress selects it, everything is allowed; otherwise
 *   only what one of their rules allows: ipBlock with except, the DNS pod by selector, ports
 *   and port ranges). They are in place before the interface exists, and are made again
 *   whenever a policy of the namespace changes. The pod's user has no capability over its
 *   namespace and cannot change them.
 * - Ingress: slirp4netns forwards nothing in and pods do not reach each other here, so nothing
 *   reaches a pod whatever its policies say: a default-deny ingress holds trivially, and an
 *   ingress rule that opens something is not honoured (Keel's driver makes none).
 *
 * The stand-in must run as root to do this (nsenter, nft), as the runner must for the docker
 * driver's network.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { KubeObject, ObjectStore } from './store.ts';

/** slirp4netns' resolver inside the pod's namespace: the stand-in's kube-dns pod. */
export const CLUSTER_DNS = '10.0.2.3';
const DNS_POD = {
  namespace: 'kube-system',
  namespaceLabels: { 'kubernetes.io/metadata.name': 'kube-system' },
  labels: { 'k8s-app': 'kube-dns' },
};
const TABLE = 'standin_netpol';
const READY_TIMEOUT_MS = 10_000;

interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}
export interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Requirement[];
}
interface Peer {
  ipBlock?: { cidr: string; except?: string[] };
  namespaceSelector?: Selector;
  podSelector?: Selector;
}
interface PolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}
export interface PolicySpec {
  podSelector: Selector;
  policyTypes?: string[];
  egress?: Array<{ to?: Peer[]; ports?: PolicyPort[] }>;
}

/** A label selector of the API (an empty one selects everything). */
export function selects(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const r of selector.matchExpressions ?? []) {
    const has = r.key in labels;
    const ok =
      r.operator === 'In'
        ? has && (r.values ?? []).includes(labels[r.key]!)
        : r.operator === 'NotIn'
          ? !has || !(r.values ?? []).includes(labels[r.key]!)
          : r.operator === 'Exists'
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}

/** Whether a policy restricts egress: its types say so, or (types absent) it has egress rules. */
const restrictsEgress = (p: PolicySpec) =>
  p.policyTypes ? p.policyTypes.includes('Egress') : p.egress !== undefined;

/** The destinations a peer names, as nft address matches (none: it names nothing reachable here). */
function peerMatches(peer: Peer, policyNamespace: string | undefined): string[] {
  if (peer.ipBlock) {
    const family = peer.ipBlock.cidr.includes(':') ? 'ip6' : 'ip';
    const except = peer.ipBlock.except ?? [];
    return [
      `${family} daddr ${peer.ipBlock.cidr}${except.length ? ` ${family} daddr != { ${except.join(', ')} }` : ''}`,
    ];
  }
  // The only pod a pod reaches here is the DNS one. Without a namespace selector a peer means
  // pods of the policy's own namespace.
  const inNamespace = peer.namespaceSelector
    ? selects(peer.namespaceSelector, DNS_POD.namespaceLabels)
    : policyNamespace === DNS_POD.namespace;
  return inNamespace && selects(peer.podSelector, DNS_POD.labels) ? [`ip daddr ${CLUSTER_DNS}`] : [];
}

function portMatches(ports: PolicyPort[] | undefined): string[] {
  if (!ports?.length) return [''];
  return ports.flatMap((p) => {
    const proto = (p.protocol ?? 'TCP').toLowerCase();
    if (p.port === undefined) return [`meta l4proto ${proto}`];
    // Named ports name a container's port; workspaces declare none, so they match nothing.
    if (typeof p.port === 'string') return [];
    return [`${proto} dport ${p.port}${p.endPort ? `-${p.endPort}` : ''}`];
  });
}

/**
 * The nft script for one pod from the policies of its namespace; undefined when none restricts
 * its egress (everything may leave, as on a cluster).
 */
export function egressScript(
  podLabels: Record<string, string>,
  policies: PolicySpec[],
  namespace?: string,
): string | undefined {
  const mine = policies.filter((p) => restrictsEgress(p) && selects(p.podSelector, podLabels));
  if (mine.length === 0) return undefined;
  const rules: string[] = [];
  for (const policy of mine) {
    for (const rule of policy.egress ?? []) {
      const to = rule.to?.length ? rule.to.flatMap((peer) => peerMatches(peer, namespace)) : [''];
      for (const dest of to)
        for (const port of portMatches(rule.ports))
          rules.push(`${[dest, port].filter(Boolean).join(' ')} accept`);
    }
  }
  return [
    `table inet ${TABLE}`,
    `delete table inet ${TABLE}`,
    `table inet ${TABLE} {`,
    '  chain output {',
    '    type filter hook output priority 0; policy drop;',
    '    oif "lo" accept',
    '    ct state established,related accept',
    ...rules.map((r) => `    ${r}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Removes the stand-in's table: nothing restricts the pod's egress. */
const OPEN_SCRIPT = `table inet ${TABLE}\ndelete table inet ${TABLE}\n`;

interface Attached {
  pod: KubeObject;
  pid: number;
  slirp: ChildProcess;
}

/** The network of the stand-in's running pods, by pod uid. */
export class PodNetwork {
  private readonly attached = new Map<string, Attached>();

  constructor(private readonly store: ObjectStore) {}

  /** Gives a just-started pod its namespace's rules, then its interface. */
  async attach(pod: KubeObject, pid: number): Promise<void> {
    await this.applyRules(pod, pid);
    const slirp = await startSlirp(pid);
    this.attached.set(pod.metadata.uid, { pod, pid, slirp });
  }

  /** Makes the rules of every running pod of a namespace again, after one of its policies changed. */
  async refresh(namespace: string | undefined): Promise<void> {
    for (const a of this.attached.values()) {
      if (a.pod.metadata.namespace === namespace) await this.applyRules(a.pod, a.pid).catch(() => {});
    }
  }

  detach(pod: KubeObject): void {
    const a = this.attached.get(pod.metadata.uid);
    if (!a) return;
    this.attached.delete(pod.metadata.uid);
    a.slirp.kill('SIGKILL');
  }

  detachAll(): void {
    for (const a of [...this.attached.values()]) this.detach(a.pod);
  }

  private async applyRules(pod: KubeObject, pid: number): Promise<void> {
    const ns = pod.metadata.namespace;
    const policies = this.store.list('networkpolicies', ns).map((p) => p.spec as unknown as PolicySpec);
    const script = egressScript(pod.metadata.labels ?? {}, policies, ns) ?? OPEN_SCRIPT;
    await run(['nsenter', '-t', String(pid), '-n', '--', 'nft', '-f', '-'], script);
  }
}

async function startSlirp(pid: number): Promise<ChildProcess> {
  const child = spawn(
    'slirp4netns',
    ['--configure', '--mtu=65520', '--disable-host-loopback', '--ready-fd=3', String(pid), 'tap0'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-1000);
  });
  const ready = child.stdio[3] as NodeJS.ReadableStream;
  const failed = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve('not ready in time'), READY_TIMEOUT_MS);
    ready.once('data', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve(err.message);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(`exited (${signal ?? code})`);
    });
  });
  (ready as unknown as { destroy(): void }).destroy();
  if (failed) {
    child.kill('SIGKILL');
    throw new Error(`the pod network could not be set up: slirp4netns ${failed}: ${stderr.trim()}`);
  }
  return child;
}

function run(argv: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} failed: ${stderr.trim()}`)),
    );
    child.stdin?.end(input);
  });
}
