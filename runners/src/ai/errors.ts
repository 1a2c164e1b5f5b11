/**
 * Typed failures of a model call. Their messages are built here from fixed text and numbers
 * only: an upstream error body may echo the prompt (and so the user's source code), and these
 * messages end up in logs, job results and the browser. For the same reason no upstream error
 * is attached as `cause`.
 */
export type AiErrorCode = 'ai_unavailable' | 'ai_timeout' | 'ai_upstream_error' | 'ai_cancelled';

export abstract class AiError extends Error {
  abstract readonly code: AiErrorCode;
}

export type AiUnavailableReason = 'not_configured' | 'connection_failed';

/** No model to talk to: AI is not configured on this runner, or its server cannot be reached. */
export class AiUnavailable extends AiError {
  override name = 'AiUnavailable';
  readonly code = 'ai_unavailable';
  constructor(readonly reason: AiUnavailableReason) {
    super(
      reason === 'not_configured'
        ? 'AI is not configured on this runner (set KEEL_AI_BASE_URL and KEEL_AI_MODEL)'
        : 'the model server could not be reached',
    );
  }
}

export type AiTimeoutPhase = 'first_token' | 'total';

export class AiTimeout extends AiError {
  override name = 'AiTimeout';
  readonly code = 'ai_timeout';
  constructor(
    readonly phase: AiTimeoutPhase,
    readonly timeoutMs: number,
  ) {
    super(
      phase === 'first_token'
        ? `the model sent no token within ${timeoutMs} ms`
        : `the model did not finish within ${timeoutMs} ms`,
    );
  }
}

/** The server answered, but not with a usable completion (HTTP error, broken or truncated stream). */
export class AiUpstreamError extends AiError {
  override name = 'AiUpstreamError';
  readonly code = 'ai_upstream_error';
  /**
   * @param status the HTTP status, or undefined when the failure came after the headers (mid-stream)
   * @param detail fixed text chosen by this module, never text from the server
   */
  constructor(
    readonly status: number | undefined,
    detail: string,
  ) {
    super(
      status === undefined ? `model server error: ${detail}` : `model server answered ${status}: ${detail}`,
    );
  }

  /** 429 and 5xx are worth retrying later; other 4xx mean the request itself is wrong. */
  get retryable(): boolean {
    return this.status === undefined || this.status === 429 || this.status >= 500;
  }
}

export class AiCancelled extends AiError {
  override name = 'AiCancelled';
  readonly code = 'ai_cancelled';
  constructor() {
    super('the model call was cancelled');
  }
}
