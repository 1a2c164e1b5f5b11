import type {
  ConnectionTestCode,
  ConnectionTestResult,
  ServerAccess,
  ServerResources,
} from '@keel/contract/servers';
import type { V1Node } from '@kubernetes/client-node';
import { apiMessage, apiStatus, type KubernetesApis, makeApis } from '../workloads/kubernetes-api.ts';
import { MANAGED_BY, WORKSPACE_LABEL } from '../workloads/kubernetes-objects.ts';
import { parseQuantity } from '../workloads/kubernetes-quantity.ts';
import type { ServerProbeOptions } from './docker-test.ts';

export type KubernetesAccess = Extract<ServerAccess, { kind: 'kubernetes' }>;

/** A failed step of a test, with the code an admin reads. */
class ProbeFailure extends Error {
  constructor(
    readonly code: ConnectionTestCode,
    message: string,
    readonly reached: boolean,
  ) {
    super(message);
  }
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
]);

/** What went wrong with one API call, in the contract's codes. */
function classify(err: unknown, what: string, deadline: AbortSignal): ProbeFailure {
  const status = apiStatus(err);
  if (status === 401)
    return new ProbeFailure('auth_failed', `the API server refused the credential (401) at ${what}`, true);
  if (status === 403) return new ProbeFailure('forbidden', `${what}: ${apiMessage(err)}`, true);
  if (status !== undefined)
    return new ProbeFailure('internal', `${what}: HTTP ${status}: ${apiMessage(err)}`, true);
  const e = err as { name?: string; type?: string; code?: string; errno?: string; message?: string };
  if (
    deadline.aborted ||
    e.name === 'AbortError' ||
    e.type === 'aborted' ||
    e.name === 'TimeoutError' ||
    e.type === 'request-timeout'
  )
    return new ProbeFailure('timeout', `no answer from the API server in time (${what})`, false);
  const code = e.code ?? e.errno ?? '';
  const text = e.message ?? String(err);
  if (TLS_CODES.has(code) || /certificate|self[- ]signed|TLS|SSL/i.test(text))
    return new ProbeFailure('tls_failed', `the API server's certificate was refused: ${text}`, true);
  if (UNREACHABLE_CODES.has(code) || /ECONNREFUSED|EHOSTUNREACH|ENOTFOUND|ENETUNREACH/.test(text))
    return new ProbeFailure('unreachable', `cannot connect to the API server: ${text}`, false);
  return new ProbeFailure('internal', `${what}: ${text}`, false);
}

/**
 * Runs `probe` with every request bounded by what is left of the test's time: a server that
 * accepts and never answers gives `timeout`, never a hang.
 */
async function withDeadline<T>(
  access: KubernetesAccess,
  timeoutMs: number,
  probe: (apis: KubernetesApis, call: <R>(what: string, p: () => Promise<R>) => Promise<R>) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const apis = makeApis(access, { requestTimeoutMs: timeoutMs, signal: controller.signal });
  const call = async <R>(what: string, p: () => Promise<R>): Promise<R> => {
    try {
      return await p();
    } catch (err) {
      throw classify(err, what, controller.signal);
    }
  };
  const expired = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () =>
      reject(new ProbeFailure('timeout', 'no answer from the API server in time', false)),
    );
  });
  try {
    return await Promise.race([probe(apis, call), expired]);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

interface NodeTotals {
  name: string;
  ready: boolean;
  capacity: { cpus: number; memoryMb: number; gpus: number };
  allocatable: { cpus: number; memoryMb: number; gpus: number };
}

function resourcesOf(list: Record<string, string> | undefined) {
  const n = (k: string) => {
    const v = parseQuantity(list?.[k]);
    return Number.isFinite(v) ? v : 0;
  };
  return {
    cpus: Math.round(n('cpu') * 1000) / 1000,
    memoryMb: Math.floor(n('memory') / 2 ** 20),
    gpus: Math.floor(n('nvidia.com/gpu')),
  };
}

function nodeTotals(node: V1Node): NodeTotals {
  return {
    name: node.metadata?.name ?? '',
    ready: !!node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    capacity: resourcesOf(node.status?.capacity),
    allocatable: resourcesOf(node.status?.allocatable),
  };
}

/** Counts pods cluster-wide a page at a time, without holding them all. */
async function countPods(apis: KubernetesApis, call: <R>(what: string, p: () => Promise<R>) => Promise<R>) {
  let count = 0;
  let cont: string | undefined;
  for (let page = 0; page < 200; page++) {
    const list = await call('list pods', () =>
      apis.core.listPodForAllNamespaces({ limit: 500, ...(cont ? { _continue: cont } : {}) }),
    );
    count += list.items.length;
    const remaining = list.metadata?.remainingItemCount;
    if (remaining !== undefined && remaining !== null) return count + remaining;
    cont = list.metadata?._continue || undefined;
    if (!cont) break;
  }
  return count;
}

/** Connection test of a Kubernetes API server: version, nodes, pods, what the credential may create. */
export async function testKubernetesServer(
  access: KubernetesAccess,
  opts: ServerProbeOptions,
): Promise<ConnectionTestResult> {
  const started = Date.now();
  const base = { at: new Date(started).toISOString(), runnerId: opts.runnerId };
  if (!access.token && !(access.cert && access.key)) {
    return {
      ...base,
      ok: false,
      code: 'invalid_config',
      message: 'the kubeconfig has neither a bearer token nor a client certificate and key',
      durationMs: 0,
      reachable: false,
      authenticated: false,
    };
  }
  try {
    return await withDeadline(access, opts.timeoutMs, async (apis, call) => {
      const version = await call('version', () => apis.version.getCode());
      // /version is open to anyone on many clusters: a read that needs the credential comes next.
      const nodes = (await call('list nodes', () => apis.core.listNode())).items.map(nodeTotals);
      const pods = await countPods(apis, call);
      const namespace = `${access.namespacePrefix}-access-check`;
      const may = async (
        resource: string,
        group = '',
        ns: string | undefined = namespace,
        subresource?: string,
      ) => {
        const review = await call(`may create ${resource}`, () =>
          apis.authorization.createSelfSubjectAccessReview({
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SelfSubjectAccessReview',
              spec: {
                resourceAttributes: {
                  verb: 'create',
                  group,
                  resource,
                  ...(subresource ? { subresource } : {}),
                  ...(ns ? { namespace: ns } : {}),
                },
              },
            },
          }),
        );
        return review.status?.allowed === true;
      };
      const [pods_, exec, claims, policies, namespaces] = await Promise.all([
        may('pods'),
        may('pods', '', namespace, 'exec'),
        may('persistentvolumeclaims'),
        may('networkpolicies', 'networking.k8s.io'),
        may('namespaces', '', undefined),
      ]);
      const can = {
        // A pod nobody can exec into runs no command: both are needed.
        createPods: pods_ && exec,
        createPersistentVolumeClaims: claims,
        createNetworkPolicies: policies,
        createNamespaces: namespaces,
      };
      const missing = [
        !can.createPods && 'pods (and pods/exec)',
        !can.createPersistentVolumeClaims && 'persistentvolumeclaims',
        !can.createNetworkPolicies && 'networkpolicies',
      ].filter(Boolean);
      const ok = missing.length === 0;
      const summary = `Kubernetes ${version.gitVersion}: ${nodes.length} node${nodes.length === 1 ? '' : 's'}, ${pods} pod${pods === 1 ? '' : 's'}`;
      return {
        ...base,
        ok,
        ...(ok ? {} : { code: 'forbidden' as const }),
        message: ok
          ? `${summary}${can.createNamespaces ? '' : `; namespaces ${access.namespacePrefix}-* must exist already (the credential may not create them)`}`
          : `${summary}; the credential may not create ${missing.join(', ')} in ${access.namespacePrefix}-* namespaces`,
        durationMs: Date.now() - started,
        reachable: true,
        authenticated: true,
        kubernetes: { version: version.gitVersion, nodes, pods, can },
      };
    });
  } catch (err) {
    const failure =
      err instanceof ProbeFailure ? err : new ProbeFailure('internal', (err as Error).message, false);
    return {
      ...base,
      ok: false,
      code: failure.code,
      message: failure.message,
      durationMs: Date.now() - started,
      reachable: failure.reached,
      authenticated: failure.code === 'forbidden',
    };
  }
}

/** The cluster's allocatable CPU, memory and GPUs (ready nodes), and the running workspaces. */
export async function collectKubernetesResources(
  access: KubernetesAccess,
  opts: ServerProbeOptions,
): Promise<ServerResources> {
  const at = new Date().toISOString();
  try {
    return await withDeadline(access, opts.timeoutMs, async (apis, call) => {
      const nodes = (await call('list nodes', () => apis.core.listNode())).items
        .map(nodeTotals)
        .filter((n) => n.ready);
      const selector = `${Object.entries(MANAGED_BY)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')},${WORKSPACE_LABEL}`;
      const pods = await call('list workspace pods', () =>
        apis.core.listPodForAllNamespaces({ labelSelector: selector }),
      );
      const running = pods.items.filter(
        (p) =>
          p.metadata?.namespace?.startsWith(`${access.namespacePrefix}-`) &&
          !p.metadata.deletionTimestamp &&
          p.status?.phase === 'Running',
      ).length;
      const sum = (k: 'cpus' | 'memoryMb' | 'gpus') => nodes.reduce((a, n) => a + n.allocatable[k], 0);
      return {
        at,
        ok: true,
        cpus: Math.round(sum('cpus') * 1000) / 1000,
        memoryMb: sum('memoryMb'),
        memoryFreeMb: null,
        disk: null,
        gpus: sum('gpus'),
        workspacesRunning: running,
      };
    });
  } catch (err) {
    const failure =
      err instanceof ProbeFailure ? err : new ProbeFailure('internal', (err as Error).message, false);
    return {
      at,
      ok: false,
      code: failure.code,
      cpus: 0,
      memoryMb: 0,
      memoryFreeMb: null,
      disk: null,
      gpus: 0,
      workspacesRunning: 0,
    };
  }
}
