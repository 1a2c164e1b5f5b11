import {
  ApiException,
  AuthorizationV1Api,
  CoreV1Api,
  createConfiguration,
  KubeConfig,
  NetworkingV1Api,
  ServerConfiguration,
  VersionApi,
} from '@kubernetes/client-node';
import type { KubernetesAccess } from '../servers/kubernetes-test.ts';

/** The API clients for one server, every request bounded in time. */
export interface KubernetesApis {
  core: CoreV1Api;
  networking: NetworkingV1Api;
  authorization: AuthorizationV1Api;
  version: VersionApi;
}

/** A kubeconfig with one cluster, one user and one context, from the runner's job access. */
export function kubeConfigOf(access: KubernetesAccess): KubeConfig {
  const kc = new KubeConfig();
  const b64 = (s: string | undefined) => (s ? Buffer.from(s).toString('base64') : undefined);
  kc.loadFromOptions({
    clusters: [{ name: 'keel', server: access.url, caData: b64(access.ca), skipTLSVerify: false }],
    users: [{ name: 'keel', token: access.token, certData: b64(access.cert), keyData: b64(access.key) }],
    contexts: [{ name: 'keel', cluster: 'keel', user: 'keel' }],
    currentContext: 'keel',
  });
  return kc;
}

/**
 * Clients whose every request is aborted after `requestTimeoutMs` (and when `signal` aborts):
 * an API server that accepts the connection and never answers must not hang a job.
 */
export function makeApis(
  access: KubernetesAccess,
  opts: { requestTimeoutMs: number; signal?: AbortSignal },
): KubernetesApis {
  const kc = kubeConfigOf(access);
  const config = createConfiguration({
    baseServer: new ServerConfiguration(access.url.replace(/\/+$/, ''), {}),
    authMethods: { default: kc },
    promiseMiddleware: [
      {
        pre: async (ctx) => {
          const timeout = AbortSignal.timeout(opts.requestTimeoutMs);
          ctx.setSignal(opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout);
          return ctx;
        },
        post: async (ctx) => ctx,
      },
    ],
  });
  return {
    core: new CoreV1Api(config),
    networking: new NetworkingV1Api(config),
    authorization: new AuthorizationV1Api(config),
    version: new VersionApi(config),
  };
}

/** The HTTP status of a failed API call (undefined: the request itself failed). */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** The API server's own message for a failed call (its metav1.Status), else the error's. */
export function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as unknown;
    try {
      const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string };
      if (status?.message) return status.message;
    } catch {
      // Not a Status: fall through.
    }
    return `HTTP ${err.code}`;
  }
  return (err as Error)?.message ?? String(err);
}

/** Runs `p`, answering `fallback` when the API says 404 (or one of `codes`). */
export async function unless<T, F>(codes: number[], p: Promise<T>, fallback: F): Promise<T | F> {
  try {
    return await p;
  } catch (err) {
    if (codes.includes(apiStatus(err) ?? -1)) return fallback;
    throw err;
  }
}
