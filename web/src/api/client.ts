import { AUTH_COOKIES, CSRF_HEADER, RefreshResponse } from '@keel/contract/auth';
import { ApiError, errorFromResponse, networkError, unexpectedResponse } from './api-error.ts';
import { browserTimers, type Timers } from './browser-timers.ts';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What login, signup and refresh hand back: a short-lived access token and when it runs out. */
export interface TokenGrant {
  accessToken: string;
  csrfToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
}

/** Anything with zod's `safeParse`; keeps the client independent of one schema library's types. */
export interface ResponseSchema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: unknown };
}

export interface ApiClientOptions {
  /** Injected so tests can answer requests without a network; in the browser pass `window.fetch.bind(window)`. */
  fetch: FetchLike;
  /** Reads a cookie visible to scripts (the CSRF cookie); injected so tests need no `document`. */
  readCookie: (name: string) => string | undefined;
  /**
   * Runs a refresh while holding a lock shared by every tab. Refresh tokens rotate on use, so two tabs
   * refreshing with the same cookie at once would look like token theft to the server.
   */
  withRefreshLock?: <T>(refresh: () => Promise<T>) => Promise<T>;
  timers?: Timers;
  /** Refresh this many seconds before the access token expires (at most a fifth of its lifetime). */
  refreshLeadSeconds?: number;
  /** Give up on a request after this long, so a dead connection never leaves a button spinning forever. */
  timeoutMs?: number;
}

export interface RequestOptions<T> {
  /** Sent as JSON. Writes without a body still send `{}` where the route expects JSON. */
  body?: unknown;
  /** Validates the success body; a mismatch becomes an `unexpected_response` ApiError. */
  schema?: ResponseSchema<T>;
  /** Send the in-memory access token. Off for routes that establish a session (login, signup, refresh). */
  authenticate?: boolean;
  /**
   * On a 401 for an expired or missing access token, refresh once and retry once. Off for routes whose
   * 401 a refresh cannot fix (wrong password) and for the refresh route itself.
   */
  retryOnUnauthorized?: boolean;
}

export interface StreamOptions {
  headers?: Record<string, string>;
  /** Ends the request (and its body) when aborted; streams have no timeout of their own. */
  signal?: AbortSignal;
  /** POST for routes that start the work and answer with its stream (the AI routes); GET otherwise. */
  method?: 'GET' | 'POST';
  /** Sent as JSON with a POST. */
  body?: unknown;
}

export interface ApiClient {
  request<T>(method: HttpMethod, path: string, options?: RequestOptions<T>): Promise<T>;
  /**
   * Opens a long-lived request, such as an event stream, with the same authentication, CSRF header and
   * refresh-once as `request`, and hands back the response with its body unread. A non-2xx answer rejects
   * with an ApiError.
   */
  openStream(path: string, options?: StreamOptions): Promise<Response>;
  /** Exchanges the refresh cookie for a new access token; concurrent callers share one request. */
  refresh(): Promise<TokenGrant>;
  /** Starts using a grant from login, signup or refresh, and schedules the silent refresh before it expires. */
  useGrant(grant: TokenGrant): void;
  /** Forgets the access token without telling anyone: for a deliberate sign-out. */
  forgetGrant(): void;
  hasAccessToken(): boolean;
  /** Called when a live session ends on its own (the refresh token was rejected). Returns an unsubscribe. */
  onSessionExpired(listener: () => void): () => void;
  dispose(): void;
}

export const REFRESH_PATH = '/api/auth/refresh';
const SAFE_METHODS: ReadonlySet<HttpMethod> = new Set(['GET']);
/** Codes that say "your access token is missing or stale", as opposed to "you may not do this". */
const REFRESHABLE_CODES: ReadonlySet<string> = new Set(['invalid_token', 'unauthorized']);
/** setTimeout fires at once for delays above 2^31-1 ms, which would turn a long-lived token into a refresh loop. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MIN_REFRESH_DELAY_MS = 1000;

const noLock = <T>(refresh: () => Promise<T>): Promise<T> => refresh();

export function createApiClient(options: ApiClientOptions): ApiClient {
  const fetchFn = options.fetch;
  const timers = options.timers ?? browserTimers;
  const withRefreshLock = options.withRefreshLock ?? noLock;
  const refreshLeadSeconds = options.refreshLeadSeconds ?? 60;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const expiredListeners = new Set<() => void>();

  let accessToken: string | undefined;
  // The CSRF cookie is the source of truth; this copy covers a browser that hides it (e.g. a stricter path).
  let csrfFromGrant: string | undefined;
  let refreshTimer: unknown;
  let refreshInFlight: Promise<TokenGrant> | undefined;

  function clearRefreshTimer(): void {
    if (refreshTimer === undefined) return;
    timers.clear(refreshTimer);
    refreshTimer = undefined;
  }

  function scheduleSilentRefresh(expiresInSeconds: number): void {
    clearRefreshTimer();
    const lead = Math.min(refreshLeadSeconds, expiresInSeconds / 5);
    const delayMs = Math.min(MAX_TIMER_MS, Math.max(MIN_REFRESH_DELAY_MS, (expiresInSeconds - lead) * 1000));
    refreshTimer = timers.set(() => {
      refreshTimer = undefined;
      // A rejected refresh token ends the session through the listeners; a transient failure is left to
      // the next request, whose 401 triggers another refresh.
      refresh().catch(() => {});
    }, delayMs);
  }

  function useGrant(grant: TokenGrant): void {
    accessToken = grant.accessToken;
    csrfFromGrant = grant.csrfToken;
    scheduleSilentRefresh(grant.expiresIn);
  }

  function forgetGrant(): void {
    accessToken = undefined;
    csrfFromGrant = undefined;
    clearRefreshTimer();
  }

  function endSession(): void {
    const hadSession = accessToken !== undefined;
    forgetGrant();
    // Only a session that was live can "expire"; a failed first refresh just means nobody is signed in.
    if (hadSession) for (const listener of [...expiredListeners]) listener();
  }

  async function send<T>(
    method: HttpMethod,
    path: string,
    init: RequestOptions<T>,
    token: string | undefined,
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (!SAFE_METHODS.has(method)) {
      const csrf = options.readCookie(AUTH_COOKIES.csrf) ?? csrfFromGrant;
      if (csrf !== undefined) headers[CSRF_HEADER] = csrf;
    }

    let response: Response;
    try {
      response = await fetchFn(path, {
        method,
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        credentials: 'same-origin',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw networkError(cause);
    }

    if (!response.ok) throw await errorFromResponse(response);
    if (response.status === 204) return undefined as T;

    let data: unknown;
    try {
      data = await response.json();
    } catch (cause) {
      throw unexpectedResponse(response.status, 'the body is not JSON', cause);
    }
    if (init.schema === undefined) return data as T;
    const parsed = init.schema.safeParse(data);
    if (!parsed.success)
      throw unexpectedResponse(response.status, 'the body has an unexpected shape', parsed.error);
    return parsed.data;
  }

  async function openOnce(path: string, init: StreamOptions, token: string | undefined): Promise<Response> {
    const method = init.method ?? 'GET';
    const headers: Record<string, string> = { ...init.headers };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (method !== 'GET') {
      headers['content-type'] = 'application/json';
      const csrf = options.readCookie(AUTH_COOKIES.csrf) ?? csrfFromGrant;
      if (csrf !== undefined) headers[CSRF_HEADER] = csrf;
    }
    let response: Response;
    try {
      response = await fetchFn(path, {
        method,
        headers,
        body: method === 'GET' ? undefined : JSON.stringify(init.body ?? {}),
        credentials: 'same-origin',
        signal: init.signal,
      });
    } catch (cause) {
      throw networkError(cause);
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }

  /** Sends once, and on a 401 that a new access token can fix, refreshes and sends exactly once more. */
  async function withRefreshRetry<T>(
    attempt: (token: string | undefined) => Promise<T>,
    authenticate: boolean,
    retryOnUnauthorized: boolean,
  ): Promise<T> {
    const tokenUsed = authenticate ? accessToken : undefined;
    try {
      return await attempt(tokenUsed);
    } catch (error) {
      if (!retryOnUnauthorized || !isRefreshable(error)) throw error;
      // Another request may already have refreshed while this one was in flight: then just retry.
      const refreshedMeanwhile = authenticate && accessToken !== undefined && accessToken !== tokenUsed;
      if (!refreshedMeanwhile) {
        try {
          await refresh();
        } catch {
          // The caller asked about its own request; its 401 says more than the refresh's failure.
          throw error;
        }
      }
      // Exactly one retry: a second 401 is returned as is, so a server that keeps refusing cannot loop us.
      return attempt(authenticate ? accessToken : undefined);
    }
  }

  function request<T>(method: HttpMethod, path: string, init: RequestOptions<T> = {}): Promise<T> {
    return withRefreshRetry(
      (token) => send(method, path, init, token),
      init.authenticate ?? true,
      init.retryOnUnauthorized ?? true,
    );
  }

  function openStream(path: string, init: StreamOptions = {}): Promise<Response> {
    return withRefreshRetry((token) => openOnce(path, init, token), true, true);
  }

  function refresh(): Promise<TokenGrant> {
    refreshInFlight ??= withRefreshLock(() =>
      send('POST', REFRESH_PATH, { body: {}, schema: RefreshResponse }, undefined),
    )
      .then(
        (grant) => {
          useGrant(grant);
          return grant;
        },
        (error: unknown) => {
          if (isSessionRejected(error)) endSession();
          throw error;
        },
      )
      .finally(() => {
        refreshInFlight = undefined;
      });
    return refreshInFlight;
  }

  return {
    request,
    openStream,
    refresh,
    useGrant,
    forgetGrant,
    hasAccessToken: () => accessToken !== undefined,
    onSessionExpired(listener) {
      expiredListeners.add(listener);
      return () => expiredListeners.delete(listener);
    },
    dispose() {
      clearRefreshTimer();
      expiredListeners.clear();
    },
  };
}

function isRefreshable(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401 && REFRESHABLE_CODES.has(error.code);
}

/** The server refused the refresh itself (bad, reused or missing cookie, failed CSRF): the session is over. */
function isSessionRejected(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 401 || error.status === 403);
}
