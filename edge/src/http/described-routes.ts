import type { ApiRoute, ResponseBody } from '@keel/contract/api/describe';
import type { Context, Handler, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../app-env.ts';

/**
 * Serves routes as the contract describes them (`@keel/contract/api/*`), on a sub-app mounted at
 * `mountedAt`: the method and path come from the description, so what is served and what
 * /openapi.json says cannot drift apart. Validation stays in the handlers (readJson, readQuery,
 * readParams with the same schemas), which own the body cap, media type and error order.
 */
export function describedRoutes(app: Hono<AppEnv>, mountedAt: string) {
  return (route: ApiRoute, ...handlers: Handler<AppEnv>[]): void => {
    if (!route.path.startsWith(mountedAt)) throw new Error(`${route.path} is not under ${mountedAt}`);
    const path = route.path.slice(mountedAt.length).replace(/\{(\w+)\}/g, ':$1') || '/';
    (app.on as (method: string, path: string, ...handlers: Handler<AppEnv>[]) => unknown)(
      route.method.toUpperCase(),
      path,
      ...handlers,
    );
  };
}

type JsonStatus<R extends ApiRoute> = Extract<keyof R['responses'], ContentfulStatusCode>;

/** A JSON answer whose body the compiler checks against the route's schema for that status. */
export function reply<R extends ApiRoute, S extends JsonStatus<R>>(
  c: Context<AppEnv>,
  _route: R,
  status: S,
  body: ResponseBody<R, S>,
): Response {
  return c.json(body as object, status);
}
