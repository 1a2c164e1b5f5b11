import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import Docker from 'dockerode';
import type { KubernetesAccess } from '../../../runners/src/servers/kubernetes-test.ts';
import { parseQuantity } from '../../../runners/src/workloads/kubernetes-quantity.ts';
import {
  ApiError,
  alreadyExists,
  badRequest,
  invalid,
  methodNotAllowed,
  notFound,
  unauthorized,
} from './api-errors.ts';
import { makePki, type Pki } from './certs.ts';
import { DockerPods } from './docker-pods.ts';
import { negotiate, parseExecQuery, serveExec } from './pod-exec.ts';
import { PodNetwork } from './pod-network.ts';
import { restrictedViolations } from './pod-security.ts';
import { allows, CLUSTER_ADMIN, forbiddenMessage, type PolicyRule, type ResourceAttributes } from './rbac.ts';
import { type Cause, type ModelKind, validateObject } from './schemas.ts';
import { apiTime, type KubeObject, ObjectStore, parseLabelSelector } from './store.ts';

/**
 * A Kubernetes API stand-in: no API server can run on this machine, so the tests talk to this
 * HTTPS server instead. It implements, with the real API's paths, JSON shapes, Status errors and
 * exec protocol, the subset that Keel's kubernetes driver and connection test use, backed by the
 * local Docker engine so that pods really run commands (see docker-pods.ts for what that means
 * and what it does not enforce), on a network whose NetworkPolicies are enforced (pod-network.ts). Every object a client sends is validated against the official
 * schemas; a refused one answers 422 and is recorded in `refused`.
 */
export interface StandinUser {
  name: string;
  groups?: string[];
  /** What a ClusterRoleBinding gives this user. Default: everything (cluster-admin). */
  rules?: PolicyRule[];
}

export interface StandinNode {
  name: string;
  ready?: boolean;
  capacity: Record<string, string>;
  allocatable: Record<string, string>;
}

export interface StandinOptions {
  /** Prefix of everything made in the Docker engine; unique per test. */
  instance: string;
  users?: StandinUser[];
  nodes?: StandinNode[];
  /** Storage classes the cluster has; the first is the default. */
  storageClasses?: string[];
  docker?: Docker;
  gitVersion?: string;
}

export interface KubernetesApiStandin {
  url: string;
  port: number;
  /** The CA that signs the server's certificate (and the client certificates). */
  ca: string;
  pki: Pki;
  token(user: string): string;
  clientCert(user: string): Promise<{ cert: string; key: string }>;
  setRules(user: string, rules: PolicyRule[]): void;
  /** What a runner's job would carry for this stand-in and user (bearer token or client certificate). */
  access(
    user: string,
    opts?: { via?: 'token' | 'cert'; namespacePrefix?: string; storageClass?: string; sizeGb?: number },
  ): Promise<KubernetesAccess>;
  /** Objects refused as invalid (422): the driver must send none. */
  readonly refused: Array<{ method: string; path: string; kind: string; causes: Cause[] }>;
  /** Requests refused by RBAC (403). */
  readonly denied: Array<{ user: string } & ResourceAttributes>;
  /** Every authorized request, for checks of what a client needs. */
  readonly requests: Array<{ user: string } & ResourceAttributes>;
  readonly store: ObjectStore;
  stop(): Promise<void>;
}

interface ResourceInfo {
  kind: string;
  namespaced: boolean;
  apiVersion: string;
  model?: ModelKind;
}

const RESOURCES: Record<string, Record<string, ResourceInfo>> = {
  '': {
    namespaces: { kind: 'Namespace', namespaced: false, apiVersion: 'v1', model: 'Namespace' },
    nodes: { kind: 'Node', namespaced: false, apiVersion: 'v1' },
    pods: { kind: 'Pod', namespaced: true, apiVersion: 'v1', model: 'Pod' },
    persistentvolumeclaims: {
      kind: 'PersistentVolumeClaim',
      namespaced: true,
      apiVersion: 'v1',
      model: 'PersistentVolumeClaim',
    },
  },
  'networking.k8s.io': {
    networkpolicies: {
      kind: 'NetworkPolicy',
      namespaced: true,
      apiVersion: 'networking.k8s.io/v1',
      model: 'NetworkPolicy',
    },
  },
  'authorization.k8s.io': {
    selfsubjectaccessreviews: {
      kind: 'SelfSubjectAccessReview',
      namespaced: false,
      apiVersion: 'authorization.k8s.io/v1',
      model: 'SelfSubjectAccessReview',
    },
  },
};

const DEFAULT_NODES: StandinNode[] = [
  {
    name: 'standin-node-1',
    capacity: {
      cpu: '8',
      memory: '32780412Ki',
      'nvidia.com/gpu': '1',
      pods: '110',
      'ephemeral-storage': '101430960Ki',
    },
    allocatable: {
      cpu: '7910m',
      memory: '31629436Ki',
      'nvidia.com/gpu': '1',
      pods: '110',
      'ephemeral-storage': '93478772582',
    },
  },
  {
    name: 'standin-node-2',
    capacity: { cpu: '4', memory: '16Gi', pods: '110' },
    allocatable: { cpu: '3800m', memory: '15Gi', pods: '110' },
  },
];

interface Route {
  group: string;
  resource: string;
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
}

function parsePath(pathname: string): Route | undefined {
  const seg = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let rest: string[];
  if (seg[0] === 'api' && seg[1] === 'v1') {
    group = '';
    rest = seg.slice(2);
  } else if (seg[0] === 'apis' && seg.length >= 3) {
    group = seg[1]!;
    rest = seg.slice(3);
  } else return undefined;
  const table = RESOURCES[group];
  if (!table) return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource, ...extra] = rest;
  if (!resource || extra.length) return undefined;
  const info = table[resource];
  if (!info) return undefined;
  if (namespace !== undefined && !info.namespaced) return undefined;
  return { group, resource, info, namespace, name, subresource };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 3 * 1024 * 1024) throw new ApiError(413, 'RequestEntityTooLarge', 'the request is too large');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('the body of the request was in an unknown format: expected JSON');
  }
}

const clone = <T>(v: T): T => structuredClone(v);
const pick = (o: Record<string, unknown> | undefined, keys: string[]) =>
  Object.fromEntries(keys.filter((k) => o?.[k] !== undefined).map((k) => [k, o?.[k]]));
const listItem = (o: KubeObject) => {
  const { kind: _k, apiVersion: _a, ...rest } = o;
  return rest;
};

export async function startKubernetesApiStandin(opts: StandinOptions): Promise<KubernetesApiStandin> {
  const docker = opts.docker ?? new Docker();
  const pki = await makePki();
  const users = new Map<string, StandinUser>();
  const tokens = new Map<string, string>();
  const byToken = new Map<string, string>();
  for (const u of opts.users ?? [{ name: 'keel-admin' }]) {
    users.set(u.name, { ...u, rules: u.rules ?? CLUSTER_ADMIN });
    const token = randomBytes(24).toString('base64url');
    tokens.set(u.name, token);
    byToken.set(token, u.name);
  }
  const nodes = opts.nodes ?? DEFAULT_NODES;
  const classes = opts.storageClasses ?? ['standard'];
  const store = new ObjectStore();
  const network = new PodNetwork(store);
  const pods = new DockerPods(docker, opts.instance, network);
  await pods.cleanup();
  const refused: KubernetesApiStandin['refused'] = [];
  const denied: KubernetesApiStandin['denied'] = [];
  const requests: KubernetesApiStandin['requests'] = [];
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    pending.add(p);
    void p.catch(() => {}).finally(() => pending.delete(p));
  };

  for (const name of ['default', 'kube-system', 'kube-public']) {
    store.add('namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }

  /** Who is calling: a valid bearer token, a client certificate our CA signed, or anonymous. */
  function authenticate(req: IncomingMessage): string {
    const auth = req.headers.authorization;
    if (auth) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      const user = m ? byToken.get(m[1]!) : undefined;
      if (!user) throw unauthorized();
      return user;
    }
    const socket = req.socket as TLSSocket;
    const cert = socket.getPeerCertificate?.();
    if (cert && Object.keys(cert).length > 0) {
      if (!socket.authorized) throw unauthorized();
      const cn = cert.subject?.CN;
      const name = Array.isArray(cn) ? cn[0] : cn;
      if (!name || !users.has(name)) throw unauthorized();
      return name;
    }
    return 'system:anonymous';
  }

  function authorize(user: string, attrs: ResourceAttributes): void {
    const rules = users.get(user)?.rules ?? [];
    if (!allows(rules, attrs)) {
      denied.push({ user, ...attrs });
      throw new ApiError(403, 'Forbidden', forbiddenMessage(user, attrs), {
        name: attrs.name,
        group: attrs.group,
        kind: attrs.resource,
      });
    }
    requests.push({ user, ...attrs });
  }

  function validate(method: string, path: string, kind: ModelKind, body: unknown, namespaced: boolean): void {
    const causes = validateObject(kind, body, { namespaced });
    if (causes.length === 0) return;
    refused.push({ method, path, kind, causes });
    const name = (body as { metadata?: { name?: string } } | undefined)?.metadata?.name ?? '';
    throw invalid(kind, name, causes);
  }

  function nodeObject(n: StandinNode): KubeObject {
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: n.name,
        uid: `node-${n.name}`,
        resourceVersion: store.currentVersion(),
        creationTimestamp: apiTime(new Date(0)),
        labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux' },
      },
      spec: {},
      status: {
        capacity: n.capacity,
        allocatable: n.allocatable,
        conditions: [{ type: 'Ready', status: n.ready === false ? 'False' : 'True', reason: 'KubeletReady' }],
        // Every node runs on this host (pods are its containers): its addresses are the node's.
        addresses: [
          { type: 'Hostname', address: n.name },
          ...hostAddresses().map((address) => ({ type: 'InternalIP', address })),
        ],
        nodeInfo: {
          kubeletVersion: opts.gitVersion ?? 'v1.30.0',
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
      },
    };
  }

  function namespaceOrThrow(ns: string): KubeObject {
    const obj = store.get('namespaces', undefined, ns);
    if (!obj) throw notFound('namespaces', ns);
    return obj;
  }

  function assertWritableNamespace(ns: string): KubeObject {
    const obj = namespaceOrThrow(ns);
    if (obj.metadata.deletionTimestamp)
      throw new ApiError(
        403,
        'Forbidden',
        `unable to create new content in namespace ${ns} because it is being terminated`,
      );
    return obj;
  }

  async function withStatus(pod: KubeObject): Promise<KubeObject> {
    const out = clone(pod);
    out.status = await pods.status(pod);
    return out;
  }

  function claimInUse(claim: KubeObject): boolean {
    return store
      .list('pods', claim.metadata.namespace)
      .some((p) =>
        (
          (p.spec as { volumes?: Array<{ persistentVolumeClaim?: { claimName: string } }> }).volumes ?? []
        ).some((v) => v.persistentVolumeClaim?.claimName === claim.metadata.name),
      );
  }

  /** Claims whose deletion waited for their pods (the pvc-protection finalizer). */
  async function finalizeClaims(ns: string | undefined): Promise<void> {
    for (const claim of store.list('persistentvolumeclaims', ns)) {
      if (claim.metadata.deletionTimestamp && !claimInUse(claim)) {
        store.delete('persistentvolumeclaims', claim.metadata.namespace, claim.metadata.name);
        await pods.removeVolume(claim);
      }
    }
  }

  async function deletePod(pod: KubeObject, graceSeconds: number): Promise<void> {
    await pods.terminate(pod, graceSeconds);
    store.delete('pods', pod.metadata.namespace, pod.metadata.name);
    await finalizeClaims(pod.metadata.namespace);
  }

  function podProblems(pod: KubeObject): Cause[] {
    const spec = pod.spec as {
      containers: Array<{
        name: string;
        resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
        volumeMounts?: Array<{ name: string }>;
      }>;
      volumes?: Array<{ name: string }>;
    };
    const causes: Cause[] = [];
    const volumes = new Set((spec.volumes ?? []).map((v) => v.name));
    spec.containers.forEach((c, i) => {
      const limits = c.resources?.limits ?? {};
      const requests = c.resources?.requests ?? {};
      for (const [k, v] of Object.entries({ ...limits, ...requests })) {
        if (!(parseQuantity(v) >= 0))
          causes.push({
            field: `spec.containers[${i}].resources`,
            message: `Invalid value: "${v}": quantities must match the regular expression`,
          });
        if (
          k.includes('/') &&
          !k.startsWith('kubernetes.io/') &&
          requests[k] !== undefined &&
          limits[k] !== undefined &&
          parseQuantity(requests[k]) !== parseQuantity(limits[k])
        )
          causes.push({
            field: `spec.containers[${i}].resources.requests[${k}]`,
            message: 'must be equal to limits',
          });
        if (k.includes('/') && requests[k] !== undefined && limits[k] === undefined)
          causes.push({
            field: `spec.containers[${i}].resources.limits[${k}]`,
            message: 'Required value: Limit must be set for non overcommitable resources',
          });
      }
      for (const k of Object.keys(requests)) {
        if (limits[k] !== undefined && parseQuantity(requests[k]) > parseQuantity(limits[k]))
          causes.push({
            field: `spec.containers[${i}].resources.requests`,
            message: `Invalid value: "${requests[k]}": must be less than or equal to ${k} limit`,
          });
      }
      for (const m of c.volumeMounts ?? []) {
        if (!volumes.has(m.name))
          causes.push({
            field: `spec.containers[${i}].volumeMounts.name`,
            message: `Not found: "${m.name}"`,
          });
      }
    });
    return causes;
  }

  /** Why no node can take the pod now, if none can (GPUs, unbound claims). */
  function unschedulable(pod: KubeObject): string | undefined {
    const spec = pod.spec as {
      containers: Array<{ resources?: { limits?: Record<string, string> } }>;
      volumes?: Array<{ persistentVolumeClaim?: { claimName: string } }>;
    };
    for (const v of spec.volumes ?? []) {
      if (!v.persistentVolumeClaim) continue;
      const claim = store.get(
        'persistentvolumeclaims',
        pod.metadata.namespace,
        v.persistentVolumeClaim.claimName,
      );
      if (!claim) return `persistentvolumeclaim "${v.persistentVolumeClaim.claimName}" not found`;
      if ((claim.status as { phase?: string }).phase !== 'Bound')
        return 'pod has unbound immediate PersistentVolumeClaims';
    }
    const wanted: Record<string, number> = {};
    for (const c of spec.containers) {
      for (const [k, v] of Object.entries(c.resources?.limits ?? {}))
        wanted[k] = (wanted[k] ?? 0) + parseQuantity(v);
    }
    const fits = nodes.some(
      (n) =>
        n.ready !== false &&
        Object.entries(wanted).every(([k, v]) => parseQuantity(n.allocatable[k] ?? '0') >= v),
    );
    if (!fits) {
      const short = Object.keys(wanted).filter(
        (k) => !nodes.some((n) => parseQuantity(n.allocatable[k] ?? '0') >= wanted[k]!),
      );
      return `0/${nodes.length} nodes are available: ${short.map((k) => `Insufficient ${k}`).join(', ')}.`;
    }
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://standin');
    const method = req.method ?? 'GET';
    const user = authenticate(req);
    if (url.pathname === '/version') {
      if (method !== 'GET') throw methodNotAllowed();
      send(res, 200, {
        major: '1',
        minor: '30',
        gitVersion: opts.gitVersion ?? 'v1.30.0',
        gitCommit: 'kubernetes-api-standin',
        gitTreeState: 'clean',
        buildDate: '2024-04-17T17:27:03Z',
        goVersion: 'go1.22.2',
        compiler: 'gc',
        platform: 'linux/amd64',
      });
      return;
    }
    const route = parsePath(url.pathname);
    if (!route) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const { info, namespace, name, subresource, group, resource } = route;
    const path = url.pathname;

    let verb: string;
    if (method === 'GET') verb = name ? 'get' : url.searchParams.get('watch') === 'true' ? 'watch' : 'list';
    else if (method === 'POST') verb = 'create';
    else if (method === 'PUT') verb = 'update';
    else if (method === 'DELETE') verb = name ? 'delete' : 'deletecollection';
    else if (method === 'PATCH') verb = 'patch';
    else throw methodNotAllowed();
    if (subresource === 'exec') verb = 'create';
    if (resource === 'selfsubjectaccessreviews') {
      if (method !== 'POST' || name) throw methodNotAllowed();
    } else {
      authorize(user, { verb, group, resource, subresource, namespace, name });
    }
    if (verb === 'watch') throw badRequest('the stand-in does not serve watches');
    if (verb === 'patch' || verb === 'deletecollection') throw methodNotAllowed();

    // SelfSubjectAccessReview: what may the caller do?
    if (resource === 'selfsubjectaccessreviews') {
      const body = (await readJson(req)) as KubeObject;
      validate(method, path, 'SelfSubjectAccessReview', body, false);
      const ra = (body.spec as { resourceAttributes?: Record<string, string> } | undefined)
        ?.resourceAttributes;
      if (!ra)
        throw invalid('SelfSubjectAccessReview', '', [
          { field: 'spec.resourceAttributes', message: 'Required value' },
        ]);
      const allowed = allows(users.get(user)?.rules ?? [], {
        verb: ra.verb ?? '',
        group: ra.group ?? '',
        resource: ra.resource ?? '',
        subresource: ra.subresource || undefined,
        namespace: ra.namespace || undefined,
        name: ra.name || undefined,
      });
      send(res, 201, {
        apiVersion: info.apiVersion,
        kind: info.kind,
        metadata: { creationTimestamp: null },
        spec: body.spec,
        status: allowed
          ? { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding' }
          : { allowed: false },
      });
      return;
    }

    if (resource === 'nodes') {
      if (verb === 'list') {
        send(res, 200, {
          kind: 'NodeList',
          apiVersion: 'v1',
          metadata: { resourceVersion: store.currentVersion() },
          items: nodes.map((n) => listItem(nodeObject(n))),
        });
        return;
      }
      const n = nodes.find((x) => x.name === name);
      if (verb !== 'get') throw methodNotAllowed();
      if (!n) throw notFound('nodes', name ?? '');
      send(res, 200, nodeObject(n));
      return;
    }

    if (info.namespaced && namespace !== undefined && verb !== 'list' && verb !== 'create')
      namespaceOrThrow(namespace);

    if (subresource) {
      if (resource !== 'pods' || !name || !namespace)
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      const pod = store.get('pods', namespace, name);
      if (!pod) throw notFound('pods', name);
      if (subresource === 'log') {
        if (method !== 'GET') throw methodNotAllowed();
        const status = await pods.status(pod);
        if (status.phase === 'Pending')
          throw badRequest(`container "workspace" in pod "${name}" is waiting to start: ContainerCreating`);
        const tail = url.searchParams.get('tailLines');
        const out = (await pods.container(pod).logs({
          stdout: true,
          stderr: true,
          follow: false,
          ...(tail ? { tail: Number(tail) } : {}),
        })) as Buffer;
        // Without a TTY the engine multiplexes the log; the API answers it as plain text.
        const text: Buffer[] = [];
        for (let i = 0; i + 8 <= out.length; ) {
          const len = out.readUInt32BE(i + 4);
          text.push(out.subarray(i + 8, i + 8 + len));
          i += 8 + len;
        }
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(Buffer.concat(text));
        return;
      }
      if (subresource === 'exec') throw badRequest('Upgrade request required');
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }

    const storeKey = resource;
    if (verb === 'list') {
      const selector = parseLabelSelector(url.searchParams.get('labelSelector'));
      let items = store.list(storeKey, info.namespaced ? namespace : undefined, selector);
      if (resource === 'pods') items = await Promise.all(items.map(withStatus));
      // Paging as the API pages: `limit`, an opaque `continue` token, and remainingItemCount.
      const limit = Number(url.searchParams.get('limit') ?? '0');
      const from = Number(Buffer.from(url.searchParams.get('continue') ?? '', 'base64url').toString() || '0');
      const page = limit > 0 ? items.slice(from, from + limit) : items.slice(from);
      const rest = items.length - from - page.length;
      send(res, 200, {
        kind: `${info.kind}List`,
        apiVersion: info.apiVersion,
        metadata: {
          resourceVersion: store.currentVersion(),
          ...(rest > 0
            ? {
                continue: Buffer.from(String(from + page.length)).toString('base64url'),
                remainingItemCount: rest,
              }
            : {}),
        },
        items: page.map(listItem),
      });
      return;
    }

    if (verb === 'get') {
      const obj = store.get(storeKey, namespace, name!);
      if (!obj) throw notFound(resource, name!, group);
      send(res, 200, resource === 'pods' ? await withStatus(obj) : obj);
      return;
    }

    if (verb === 'create') {
      if (name) throw methodNotAllowed();
      const body = (await readJson(req)) as KubeObject;
      validate(method, path, info.model!, body, info.namespaced);
      if (info.namespaced) {
        if (body.metadata.namespace !== undefined && body.metadata.namespace !== namespace)
          throw badRequest(
            'the namespace of the provided object does not match the namespace sent on the request',
          );
        assertWritableNamespace(namespace!);
      }
      const objName = body.metadata.name;
      if (store.get(storeKey, namespace, objName)) throw alreadyExists(resource, objName, group);
      const obj = clone(body);
      obj.apiVersion = info.apiVersion;
      obj.kind = info.kind;
      obj.metadata = { ...obj.metadata, ...(info.namespaced ? { namespace } : {}) };
      delete obj.status;

      if (resource === 'namespaces') {
        obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': objName };
        obj.spec = { finalizers: ['kubernetes'] };
        obj.status = { phase: 'Active' };
      } else if (resource === 'pods') {
        const problems = podProblems(obj);
        if (problems.length) {
          refused.push({ method, path, kind: 'Pod', causes: problems });
          throw invalid('Pod', objName, problems);
        }
        const ns = namespaceOrThrow(namespace!);
        if (ns.metadata.labels?.['pod-security.kubernetes.io/enforce'] === 'restricted') {
          const v = restrictedViolations(obj as never);
          if (v.length)
            throw new ApiError(
              403,
              'Forbidden',
              `pods "${objName}" is forbidden: violates PodSecurity "restricted:latest": ${v.join(', ')}`,
            );
        }
        const spec = obj.spec as Record<string, unknown>;
        spec.restartPolicy ??= 'Always';
        spec.terminationGracePeriodSeconds ??= 30;
        spec.dnsPolicy ??= 'ClusterFirst';
        spec.schedulerName ??= 'default-scheduler';
      } else if (resource === 'persistentvolumeclaims') {
        const spec = obj.spec as {
          storageClassName?: string;
          accessModes?: string[];
          resources?: { requests?: Record<string, string> };
        };
        if (!spec?.resources?.requests?.storage)
          throw invalid('PersistentVolumeClaim', objName, [
            { field: 'spec.resources[storage]', message: 'Required value' },
          ]);
        if (!spec.accessModes?.length)
          throw invalid('PersistentVolumeClaim', objName, [
            { field: 'spec.accessModes', message: 'Required value: at least 1 access mode is required' },
          ]);
        spec.storageClassName ??= classes[0];
      }
      const stored = store.add(storeKey, obj);
      if (resource === 'persistentvolumeclaims') {
        const spec = stored.spec as {
          storageClassName?: string;
          accessModes?: string[];
          resources: { requests: Record<string, string> };
          volumeName?: string;
        };
        if (spec.storageClassName && classes.includes(spec.storageClassName)) {
          await pods.createVolume(stored);
          spec.volumeName = `pvc-${stored.metadata.uid}`;
          stored.status = {
            phase: 'Bound',
            accessModes: spec.accessModes,
            capacity: { storage: spec.resources.requests.storage },
          };
        } else {
          stored.status = { phase: 'Pending' };
        }
      }
      if (resource === 'pods') {
        stored.status = { phase: 'Pending' };
        const why = unschedulable(stored);
        if (why) pods.hold(stored, { unschedulable: why });
        else pods.launch(stored, (claim) => store.get('persistentvolumeclaims', namespace, claim));
      }
      // Enforced before the answer: a client that made a policy may count on it (a CNI is quick).
      if (resource === 'networkpolicies') await network.refresh(namespace);
      send(res, 201, resource === 'pods' ? await withStatus(stored) : stored);
      return;
    }

    if (verb === 'update') {
      const existing = store.get(storeKey, namespace, name!);
      if (!existing) throw notFound(resource, name!, group);
      const body = (await readJson(req)) as KubeObject;
      validate(method, path, info.model!, body, info.namespaced);
      if (body.metadata.name !== name)
        throw badRequest('the name of the object does not match the name on the URL');
      if (resource !== 'networkpolicies' && resource !== 'persistentvolumeclaims') throw methodNotAllowed();
      const rv = body.metadata.resourceVersion;
      if (rv && rv !== existing.metadata.resourceVersion)
        throw new ApiError(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${resource}${group ? `.${group}` : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        );
      const next = clone(body);
      next.apiVersion = info.apiVersion;
      next.kind = info.kind;
      next.metadata = {
        ...existing.metadata,
        labels: body.metadata.labels,
        annotations: body.metadata.annotations,
      };
      if (resource === 'persistentvolumeclaims') {
        // A bound claim's spec is immutable (growing it aside); its status is the controller's.
        if (
          JSON.stringify(pick(body.spec, ['accessModes', 'storageClassName'])) !==
          JSON.stringify(pick(existing.spec, ['accessModes', 'storageClassName']))
        )
          throw invalid('PersistentVolumeClaim', name!, [
            {
              field: 'spec',
              message: 'Forbidden: spec is immutable after creation except resources.requests',
            },
          ]);
        next.spec = existing.spec;
        next.status = existing.status;
      }
      const saved = store.put(storeKey, next);
      if (resource === 'networkpolicies') await network.refresh(namespace);
      send(res, 200, saved);
      return;
    }

    // delete
    const existing = store.get(storeKey, namespace, name!);
    if (!existing) throw notFound(resource, name!, group);
    const body = (await readJson(req)) as { gracePeriodSeconds?: number } | undefined;
    if (resource === 'pods') {
      const q = url.searchParams.get('gracePeriodSeconds');
      const spec = existing.spec as { terminationGracePeriodSeconds?: number };
      const grace =
        q !== null ? Number(q) : (body?.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30);
      if (!existing.metadata.deletionTimestamp) {
        existing.metadata.deletionTimestamp = apiTime(new Date(Date.now() + grace * 1000));
        existing.metadata.deletionGracePeriodSeconds = grace;
        store.put(storeKey, existing);
        track(deletePod(existing, grace));
      }
      send(res, 200, await withStatus(existing));
      return;
    }
    if (resource === 'persistentvolumeclaims') {
      if (claimInUse(existing)) {
        existing.metadata.deletionTimestamp ??= apiTime();
        existing.metadata.finalizers = ['kubernetes.io/pvc-protection'];
        store.put(storeKey, existing);
      } else {
        store.delete(storeKey, namespace, name!);
        await pods.removeVolume(existing);
      }
      send(res, 200, existing);
      return;
    }
    if (resource === 'namespaces') {
      if (['default', 'kube-system', 'kube-public'].includes(name!))
        throw new ApiError(
          403,
          'Forbidden',
          `namespaces "${name}" is forbidden: this namespace may not be deleted`,
        );
      if (!existing.metadata.deletionTimestamp) {
        existing.metadata.deletionTimestamp = apiTime();
        existing.status = { phase: 'Terminating' };
        store.put(storeKey, existing);
        track(
          (async () => {
            await Promise.all(store.list('pods', name).map((p) => deletePod(p, 0)));
            for (const c of store.list('persistentvolumeclaims', name)) {
              store.delete('persistentvolumeclaims', name, c.metadata.name);
              await pods.removeVolume(c);
            }
            for (const p of store.list('networkpolicies', name))
              store.delete('networkpolicies', name, p.metadata.name);
            store.delete('namespaces', undefined, name!);
          })(),
        );
      }
      send(res, 200, existing);
      return;
    }
    store.delete(storeKey, namespace, name!);
    if (resource === 'networkpolicies') await network.refresh(namespace);
    send(res, 200, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, group, kind: resource, uid: existing.metadata.uid },
    });
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const fail = (err: ApiError) => {
      const text = JSON.stringify(err.toStatus());
      socket.end(
        `HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
      );
    };
    try {
      const url = new URL(req.url ?? '/', 'https://standin');
      const user = authenticate(req);
      const route = parsePath(url.pathname);
      if (route?.resource !== 'pods' || route.subresource !== 'exec' || !route.name || !route.namespace)
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      authorize(user, {
        verb: 'create',
        group: '',
        resource: 'pods',
        subresource: 'exec',
        namespace: route.namespace,
        name: route.name,
      });
      const q = parseExecQuery(url);
      negotiate(req);
      namespaceOrThrow(route.namespace);
      const pod = store.get('pods', route.namespace, route.name);
      if (!pod) throw notFound('pods', route.name);
      const spec = pod.spec as { containers: Array<{ name: string }> };
      const container = q.container ?? spec.containers[0]!.name;
      if (!spec.containers.some((c) => c.name === container))
        throw badRequest(`container ${container} is not valid for pod ${route.name}`);
      const status = await pods.status(pod);
      if (status.phase === 'Succeeded' || status.phase === 'Failed')
        throw badRequest(`cannot exec into a container in a completed pod; current phase is ${status.phase}`);
      if (status.phase !== 'Running')
        throw badRequest(`unable to upgrade connection: container not found ("${container}")`);
      try {
        await serveExec(req, socket, head, pods.container(pod), q);
      } catch (err) {
        // The container stopped between the phase check and the exec (the engine's 409): the
        // kubelet answers that race as it answers a pod not running.
        if ((err as { statusCode?: number }).statusCode === 409 && !socket.destroyed)
          throw badRequest(`unable to upgrade connection: container not found ("${container}")`);
        throw err;
      }
    } catch (err) {
      if (err instanceof ApiError) fail(err);
      else if (!socket.destroyed) fail(new ApiError(500, 'InternalError', (err as Error).message));
    }
  }

  const server: Server = createServer(
    { key: pki.serverKey, cert: pki.serverCert, ca: [pki.ca], requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        const e =
          err instanceof ApiError
            ? err
            : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`);
        if (!res.headersSent) send(res, e.code, e.toStatus());
        else res.destroy();
      });
    },
  );
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    track(upgrade(req, socket, head));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    url: `https://127.0.0.1:${port}`,
    port,
    ca: pki.ca,
    pki,
    token(user) {
      const t = tokens.get(user);
      if (!t) throw new Error(`no stand-in user ${user}`);
      return t;
    },
    clientCert: (user) => pki.clientCert(user, users.get(user)?.groups ?? []),
    setRules(user, rules) {
      const u = users.get(user);
      if (!u) throw new Error(`no stand-in user ${user}`);
      u.rules = rules;
    },
    async access(user, o = {}) {
      const credential =
        o.via === 'cert'
          ? await pki.clientCert(user, users.get(user)?.groups ?? [])
          : { token: tokens.get(user) };
      return {
        kind: 'kubernetes',
        id: 'srv_kubernetesstandinaaaa',
        url: `https://127.0.0.1:${port}`,
        ca: pki.ca,
        ...credential,
        namespacePrefix: o.namespacePrefix ?? 'keel',
        storage: {
          kind: 'pvc',
          sizeGb: o.sizeGb ?? 1,
          ...(o.storageClass ? { storageClass: o.storageClass } : {}),
        },
      };
    },
    refused,
    denied,
    requests,
    store,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...pending]);
      await pods.cleanup();
      await pki.dispose();
    },
  };
}

/** This host's IPv4 addresses other than loopback. */
function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);
}
