/**
 * Middlewares run in order as one Hono middleware, as Hono would run them registered one by
 * one (its compose): an error one of them throws is answered by `onError` where it was thrown,
 * so the ones around it see their `next` end as usual, and an answer one returns becomes the
 * request's answer.
 *
 * Why not register them one by one: Hono runs each registered middleware as a layer of its own
 * (an async function, its promise, a closure and an await) on every request. The app-wide ones
 * run on every request; measured on the cached workspace list (bench/workspace-list.ts, edge
 * CPU per request), their six layers cost more than the checks they make. Here a layer is a
 * call, and a promise is waited on only where a middleware made one of its own.
 */
import type { Context, ErrorHandler, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';

export function inSequence(
  layers: readonly MiddlewareHandler<AppEnv>[],
  onError: ErrorHandler<AppEnv>,
): MiddlewareHandler<AppEnv> {
  const run = (c: Context<AppEnv>, i: number, next: () => Promise<void>): Promise<void> => {
    const layer = layers[i];
    if (layer === undefined) return next();
    let inner: Promise<void> | undefined;
    let out: ReturnType<MiddlewareHandler<AppEnv>>;
    try {
      out = layer(c, () => {
        inner = run(c, i + 1, next);
        return inner;
      });
    } catch (err) {
      return answerError(c, err, onError);
    }
    // `return next()`: what follows settled itself (run never rejects with an Error).
    if (out === inner) return out as Promise<void>;
    if (out instanceof Promise)
      return out.then(
        (res) => {
          if (res && !c.finalized) c.res = res;
        },
        (err) => answerError(c, err, onError),
      );
    if (out && !c.finalized) c.res = out;
    return Promise.resolve();
  };
  return (c, next) => run(c, 0, next);
}

/** As Hono's compose answers a middleware's error: an Error through `onError`, anything else thrown on. */
async function answerError(c: Context<AppEnv>, err: unknown, onError: ErrorHandler<AppEnv>): Promise<void> {
  if (!(err instanceof Error)) throw err;
  c.error = err;
  c.res = await onError(err, c);
}
