import { createHash } from 'node:crypto';
import { parseEgressDestination } from '@keel/contract/egress';
import type { V1Namespace, V1NetworkPolicy, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { CLOSED_RANGES } from './egress-rules.ts';
import { cpuQuantity } from './kubernetes-quantity.ts';

/*
 * The Kubernetes objects of a workspace, as plain manifests: the namespace of its organization,
 * the namespace's default-deny NetworkPolicy, the workspace's claim, its egress policy (network
 * workspaces only) and its pod. Names are derived from ids, so every call can address them
 * without a lookup.
 */
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'keel' } as const;
/** The workspace's object name (a DNS label), on its pod, claim and egress policy. */
export const WORKSPACE_LABEL = 'keel.dev/workspace';
/** The workspace id itself, which need not be a DNS label. */
export const WORKSPACE_ID_ANNOTATION = 'keel.dev/workspace-id';
/** What a start needs to make the pod again, kept on the claim (the pod goes at each stop). */
export const SPEC_ANNOTATION = 'keel.dev/spec';
/** On a claim kept by remove({ keepData: true }): the workspace is gone, its data is not. */
export const REMOVED_LABEL = 'keel.dev/removed';
export const CONTAINER = 'workspace';
export const DEFAULT_DENY_POLICY = 'keel-default-deny';
export const WORKSPACE_UID = 1000;

/**
 * `s` as a DNS label of at most `max` characters. Anything changed on the way (case, characters,
 * length) adds a hash of the original, so two ids never share a label.
 */
export function dnsLabel(s: string, max = 63): string {
  const plain = s.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (plain === s && s.length <= max && /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/.test(s)) return s;
  const hash = createHash('sha256').update(s).digest('hex').slice(0, 8);
  const head = plain.slice(0, max - hash.length - 1).replace(/^-+|-+$/g, '');
  return head ? `${head}-${hash}` : hash;
}

export function namespaceName(prefix: string, organizationId: string | undefined): string {
  return `${prefix}-${dnsLabel(organizationId ?? 'default', 62 - prefix.length)}`;
}

export const workloadName = (workspaceId: string) => dnsLabel(workspaceId);

/** What the pod is made from at each start. */
export interface StoredSpec {
  image: string;
  cpus: number;
  memoryMb: number;
  network: boolean;
  egressAllow?: string[];
  gpus?: number;
}

export function namespaceManifest(name: string, organizationId: string | undefined): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: {
        ...MANAGED_BY,
        ...(organizationId ? { 'keel.dev/organization': dnsLabel(organizationId) } : {}),
        // The API server itself refuses any pod here that is not hardened like ours.
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
      },
    },
  };
}

/** No traffic in or out of any pod of the namespace unless another policy opens it. */
export function defaultDenyManifest(): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: DEFAULT_DENY_POLICY, labels: { ...MANAGED_BY } },
    spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
  };
}

/**
 * Egress of a network workspace: the cluster's DNS, the public internet (IPv4 outside the
 * private, link-local/metadata, multicast and reserved ranges, and outside `hosts`: the nodes'
 * and the API server's own addresses, which may be public and serve the kubelet and the API),
 * and the admin's destinations. Ingress stays closed by the default-deny policy.
 */
export function egressManifest(
  name: string,
  allow: string[],
  hosts: readonly string[] = [],
): V1NetworkPolicy {
  const closedHosts = [...new Set(hosts)]
    .filter((a) => /^\d{1,3}(\.\d{1,3}){3}$/.test(a) && !CLOSED_RANGES.some((r) => inRange(a, r)))
    .sort()
    .map((a) => `${a}/32`);
  const destinations = allow.map(parseEgressDestination);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `${name}-egress`, labels: { ...MANAGED_BY, [WORKSPACE_LABEL]: name } },
    spec: {
      podSelector: { matchLabels: { [WORKSPACE_LABEL]: name } },
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
        { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: [...CLOSED_RANGES, ...closedHosts] } }] },
        ...destinations.map((d) => ({
          to: [{ ipBlock: { cidr: `${d.address}/${d.prefix}` } }],
          ...(d.port !== undefined
            ? {
                ports: [
                  { protocol: 'TCP', port: d.port },
                  { protocol: 'UDP', port: d.port },
                ],
              }
            : {}),
        })),
      ],
    },
  };
}

export function claimManifest(
  name: string,
  workspaceId: string,
  spec: StoredSpec,
  storage: { storageClass?: string; sizeGb: number },
): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      labels: { ...MANAGED_BY, [WORKSPACE_LABEL]: name },
      annotations: { [WORKSPACE_ID_ANNOTATION]: workspaceId, [SPEC_ANNOTATION]: JSON.stringify(spec) },
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: `${storage.sizeGb}Gi` } },
      ...(storage.storageClass ? { storageClassName: storage.storageClass } : {}),
    },
  };
}

/**
 * The workspace's pod: uid/gid 1000, no capabilities, no privilege escalation, read-only root,
 * the runtime's seccomp profile, no service-account token and no service links, memory-backed
 * /tmp and /home/keel, /workspace on the claim, requests equal to limits (Guaranteed QoS).
 * PID 1 is a shell that reaps orphans (Kubernetes has no init of Docker's kind) and exits at
 * SIGTERM, so a stop does not wait out the grace period.
 */
export function podManifest(
  name: string,
  workspaceId: string,
  spec: StoredSpec,
  opts: { tmpSizeMb: number; homeSizeMb: number },
): V1Pod {
  const resources: Record<string, string> = {
    cpu: cpuQuantity(spec.cpus),
    memory: `${spec.memoryMb}Mi`,
    ...(spec.gpus ? { 'nvidia.com/gpu': String(spec.gpus) } : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { ...MANAGED_BY, [WORKSPACE_LABEL]: name },
      annotations: { [WORKSPACE_ID_ANNOTATION]: workspaceId },
    },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 10,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: WORKSPACE_UID,
        runAsGroup: WORKSPACE_UID,
        fsGroup: WORKSPACE_UID,
        fsGroupChangePolicy: 'OnRootMismatch',
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: CONTAINER,
          image: spec.image,
          imagePullPolicy: 'IfNotPresent',
          command: ['/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'],
          workingDir: '/workspace',
          env: [
            { name: 'HOME', value: '/home/keel' },
            { name: 'USER', value: 'keel' },
            { name: 'LANG', value: 'C.UTF-8' },
          ],
          resources: { requests: resources, limits: resources },
          securityContext: {
            runAsNonRoot: true,
            runAsUser: WORKSPACE_UID,
            runAsGroup: WORKSPACE_UID,
            allowPrivilegeEscalation: false,
            privileged: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
          volumeMounts: [
            { name: 'workspace', mountPath: '/workspace' },
            { name: 'tmp', mountPath: '/tmp' },
            { name: 'home', mountPath: '/home/keel' },
          ],
        },
      ],
      volumes: [
        { name: 'workspace', persistentVolumeClaim: { claimName: name } },
        { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: `${opts.tmpSizeMb}Mi` } },
        { name: 'home', emptyDir: { medium: 'Memory', sizeLimit: `${opts.homeSizeMb}Mi` } },
      ],
    },
  };
}

/** Whether the IPv4 address `a` is inside `cidr` ("10.0.0.0/8"). */
function inRange(a: string, cidr: string): boolean {
  const [base = '', bits = '32'] = cidr.split('/');
  const n = (ip: string) => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  return Math.floor(n(a) / size) === Math.floor(n(base) / size);
}
