import { childSpan, parseTraceparent, SAFE_REQUEST_ID } from '@keel/contract/trace';
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from '../app-env.ts';
import { answerHeaders, putAnswerHeaders } from '../http/answer-headers.ts';
import { logRequest } from '../http/request-log.ts';
import { newId } from '../ids.ts';

/** Told of an answered request: the status sent and the seconds from its start to the answer. */
export type RequestObserver = (c: Context<AppEnv>, status: number, seconds: number) => void;

/**
 * The outermost middleware. Keeps a caller's (or load balancer's, or runner's) request id when
 * it is safe to log and mints one otherwise; continues the caller's trace (`traceparent`) or
 * starts one; puts on the answer what every middleware gathered (http/answer-headers.ts); and
 * logs the request in one line (http/request-log.ts), after telling `observers` (metrics) of it.
 * (For a stream, the time is until its headers went out, not its whole life.)
 */
export function requestId(observers: readonly RequestObserver[] = []): MiddlewareHandler<AppEnv> {
  return async function requestIdMiddleware(c, next) {
    const started = performance.now();
    const incoming = c.req.header('x-request-id');
    const id = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : newId('request');
    const span = childSpan(parseTraceparent(c.req.header('traceparent')));
    c.set('requestId', id);
    c.set('trace', span);
    answerHeaders(c)['x-request-id'] = id;
    try {
      await next();
      putAnswerHeaders(c);
    } finally {
      const ms = performance.now() - started;
      const status = c.finalized ? c.res.status : 500;
      for (const observe of observers) observe(c, status, ms / 1000);
      const p = c.get('principal');
      const runnerId = c.get('runnerId');
      logRequest({
        requestId: id,
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId || undefined,
        method: c.req.method,
        // The template the answer came from ('/api/workspaces/:id'), never the path itself.
        route: routePath(c),
        status,
        ms: Math.round(ms * 100) / 100,
        userId: p?.userId,
        organizationId: p?.organizationId,
        runnerId: runnerId || undefined,
      });
    }
  };
}
