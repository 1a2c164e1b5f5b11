import type { ErrorBody } from '@keel/contract/errors';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from './api-error.ts';
import { isStoreUnavailable } from './store-unavailable.ts';
import { BodyAborted } from './validate.ts';

export function errorJson(c: Context<AppEnv>, err: ApiError): Response {
  const body: ErrorBody = {
    error: {
      code: err.code,
      message: err.message,
      requestId: c.get('requestId') ?? 'unknown',
      ...(err.issues ? { issues: err.issues } : {}),
    },
  };
  return c.json(body, err.status as ContentfulStatusCode);
}

/**
 * The single place errors become responses. Known errors keep their code; anything else
 * is a bare 500 whose body says nothing about the cause (the log line has it).
 */
export function onError(err: Error, c: Context<AppEnv>): Response {
  if (err instanceof ApiError) return errorJson(c, err);
  if (err instanceof BodyAborted) {
    console.info(
      JSON.stringify({
        level: 'info',
        msg: 'upload aborted by the client',
        requestId: c.get('requestId'),
        method: c.req.method,
        path: c.req.path,
      }),
    );
    return errorJson(c, new ApiError('bad_request', err.message));
  }
  if (err instanceof HTTPException) {
    if (err.status === 413)
      return errorJson(c, new ApiError('payload_too_large', 'Request body is too large'));
    if (err.status === 401) return errorJson(c, new ApiError('unauthorized', 'Authentication required'));
    if (err.status >= 400 && err.status < 500) {
      return errorJson(c, new ApiError('validation_failed', err.message || 'Bad request'));
    }
  }
  if (isStoreUnavailable(err)) {
    console.warn(
      JSON.stringify({
        level: 'warn',
        msg: 'store unavailable',
        requestId: c.get('requestId'),
        path: c.req.path,
        error: err.message,
      }),
    );
    return errorJson(
      c,
      new ApiError('store_unavailable', 'Storage is briefly unavailable; try again shortly'),
    );
  }
  console.error(
    JSON.stringify({
      level: 'error',
      msg: 'unhandled error',
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      error: err.name,
      detail: err.message,
      stack: err.stack?.split('\n').slice(0, 6).join(' | '),
    }),
  );
  return errorJson(c, new ApiError('internal_error', 'Internal error'));
}

export function notFound(c: Context<AppEnv>): Response {
  return errorJson(c, new ApiError('not_found', `No route for ${c.req.method} ${c.req.path}`));
}
