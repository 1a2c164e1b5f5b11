import { ErrorBody, type ErrorCode, type ErrorIssue } from '@keel/contract/errors';

/**
 * Failures the client names itself, because no well-formed API answer arrived: the request never reached
 * the server, no answer came in time, or something between (a proxy, a crash page) answered instead.
 */
export type ClientErrorCode = 'network_error' | 'timeout' | 'unexpected_response';
export type ApiErrorCode = ErrorCode | ClientErrorCode;

export interface ApiErrorInit {
  /** HTTP status; 0 when no response arrived at all. */
  status: number;
  code: ApiErrorCode;
  message: string;
  requestId?: string | undefined;
  issues?: readonly ErrorIssue[] | undefined;
  retryAfterSeconds?: number | undefined;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly requestId: string | undefined;
  readonly issues: readonly ErrorIssue[];
  readonly retryAfterSeconds: number | undefined;

  constructor(init: ApiErrorInit, options?: ErrorOptions) {
    super(init.message, options);
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.issues = init.issues ?? [];
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError;
}

/** A fetch that threw: `AbortSignal.timeout` rejects with a TimeoutError, anything else is the network. */
export function networkError(cause: unknown): ApiError {
  const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
  return new ApiError(
    timedOut
      ? { status: 0, code: 'timeout', message: 'The server took too long to answer' }
      : { status: 0, code: 'network_error', message: 'The server could not be reached' },
    { cause },
  );
}

export function unexpectedResponse(status: number, detail: string, cause?: unknown): ApiError {
  return new ApiError(
    { status, code: 'unexpected_response', message: `Unexpected answer from the server (${detail})` },
    { cause },
  );
}

/** Turns a non-2xx response into an ApiError, whatever its body looks like. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'));
  // Read as text first: a proxy error page is HTML, and we still want a typed error, not a SyntaxError.
  const text = await response.text().catch(() => '');
  const parsed = ErrorBody.safeParse(parseJson(text));
  if (!parsed.success) return unexpectedResponse(response.status, `HTTP ${response.status}`);
  const { code, message, requestId, issues } = parsed.data.error;
  return new ApiError({ status: response.status, code, message, requestId, issues, retryAfterSeconds });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}
