/**
 * The headers the app-wide middlewares give every answer (its request id, the security policy,
 * the request limits), gathered in a plain record while the request runs and put on the answer
 * once, at the end (`putAnswerHeaders`, by the outermost middleware).
 *
 * Why a record and not `c.header`: Hono keeps those in a WHATWG `Headers` object, and making
 * one, filling it and reading it back into Node's `ServerResponse` cost about a tenth of an
 * authenticated, cached workspace list (measured with bench/workspace-list.ts under `perf`). An
 * answer made by `answerCarrying` holds the record from the start, as plain headers that
 * @hono/node-server hands to Node as they are, and is left alone at the end.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';

/** Answers made with every app-wide header already on them. */
const carrying = new WeakSet<Response>();

/** This request's app-wide headers, lower-case names; what a middleware adds is on every answer. */
export function answerHeaders(c: Context<AppEnv>): Record<string, string> {
  let headers = c.get('answerHeaders');
  if (!headers) {
    headers = {};
    c.set('answerHeaders', headers);
  }
  return headers;
}

/**
 * An answer that carries the app-wide headers and `contentType`, and nothing a handler set with
 * `c.header`: for handlers that set none (a cached list), where it saves the copies above.
 */
export function answerCarrying(
  c: Context<AppEnv>,
  body: string | Uint8Array<ArrayBuffer>,
  status: number,
  contentType: string,
): Response {
  // The record itself: it is this request's, and nothing sets an app-wide header once answered.
  const headers = answerHeaders(c);
  headers['content-type'] = contentType;
  const res = new Response(body, { status, headers });
  carrying.add(res);
  return res;
}

/** Puts the app-wide headers on the answer, over what a handler set, unless it carries them. */
export function putAnswerHeaders(c: Context<AppEnv>): void {
  if (carrying.has(c.res)) return;
  const record = c.get('answerHeaders');
  if (!record) return;
  const headers = c.res.headers;
  for (const name in record) headers.set(name, record[name]!);
}
