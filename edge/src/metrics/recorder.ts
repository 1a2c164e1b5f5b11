import type { RateLimitScope } from '@keel/contract/plans';

/** How a sign-in was attempted, as keel_sign_in_failures_total labels it. */
export type SignInMethod = 'password' | 'sso' | 'directory' | 'token';
/** The edge's caches, as keel_cache_requests_total labels them. */
export type CacheName = 'key_reads' | 'workspace_list' | 'cached_entry';
/** The kinds of long-lived answers keel_http_open_streams counts. */
export type StreamKind = 'sse' | 'websocket';

/**
 * What the edge's code reports to its metrics. The Node edge with KEEL_METRICS_PORT set gets
 * one backed by prom-client (prom-recorder.ts, loaded only then, so workerd's bundle never holds
 * it); everyone else gets `noMetrics`, whose calls do nothing. The per-request recording
 * (request-metrics.ts) is not installed at all when metrics are off.
 */
export interface EdgeMetrics {
  readonly enabled: boolean;
  signInFailed(method: SignInMethod): void;
  refused(scope: RateLimitScope): void;
  cacheRead(cache: CacheName, hit: boolean): void;
  streamOpened(kind: StreamKind): void;
  streamClosed(kind: StreamKind): void;
}

const nothing = () => {};

export const noMetrics: EdgeMetrics = {
  enabled: false,
  signInFailed: nothing,
  refused: nothing,
  cacheRead: nothing,
  streamOpened: nothing,
  streamClosed: nothing,
};
