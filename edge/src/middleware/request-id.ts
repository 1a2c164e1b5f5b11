import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { answerHeaders, putAnswerHeaders } from '../http/answer-headers.ts';
import { newId } from '../ids.ts';

const SAFE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Keeps a caller's (or load balancer's) request id when it is safe to log; mints one otherwise. */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async function requestIdMiddleware(c, next) {
    const incoming = c.req.header('x-request-id');
    const id = incoming && SAFE_ID.test(incoming) ? incoming : newId('request');
    c.set('requestId', id);
    answerHeaders(c)['x-request-id'] = id;
    await next();
    // The outermost middleware: what every middleware gathered goes on the answer here.
    putAnswerHeaders(c);
  };
}
