import type { ApiRoute, ResponseBody } from '@keel/contract/api/describe';
import type { RouteAccess } from '@keel/contract/permissions';
import type { Context, Handler, Hono, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type AppEnv, type Principal, principalPermits } from '../app-env.ts';
import { authenticate } from '../middleware/authenticate.ts';
import { authenticateRunner } from '../middleware/authenticate-runner.ts';
import { limitedAuthentication } from '../middleware/rate-limits.ts';
import { assertInstallAdmin, requireInstallAdmin } from '../middleware/require-install-admin.ts';
import { assertPermission, requirePermission } from '../middleware/require-permission.ts';
import { answerCarrying } from './answer-headers.ts';

/**
 * Serves routes as the contract describes them (`@keel/contract/api/*`), on a sub-app mounted at
 * `mountedAt`: the method and path come from the description, so what is served and what
 * /openapi.json says cannot drift apart. Validation stays in the handlers (readJson, readQuery,
 * readParams with the same schemas), which own the body cap, media type and error order.
 *
 * Access is enforced here, from the route's declared `access`, before its handlers: the one
 * place that decides who may call what (see `accessChecks`). Checks that depend on the resource
 * (whose workspace, which organization's runner) stay in the handlers.
 */
export function describedRoutes(app: Hono<AppEnv>, mountedAt: string) {
  const mount = (route: ApiRoute, handlers: Handler<AppEnv>[]) => {
    if (!route.path.startsWith(mountedAt)) throw new Error(`${route.path} is not under ${mountedAt}`);
    const path = route.path.slice(mountedAt.length).replace(/\{(\w+)\}/g, ':$1') || '/';
    (app.on as (method: string, path: string, ...handlers: Handler<AppEnv>[]) => unknown)(
      route.method.toUpperCase(),
      path,
      ...handlers,
    );
  };
  const on = (route: ApiRoute, ...handlers: Handler<AppEnv>[]): void =>
    mount(route, [...accessChecks(route.access), ...handlers]);
  /**
   * For a handler that authenticates the caller itself (the AI starts: see ai/warm-start); it
   * must call `assertAccess(c, route.access)` once it has the principal.
   */
  on.authenticatingItself = (route: ApiRoute, handler: Handler<AppEnv>): void => {
    if (route.access.kind === 'public' || route.access.kind === 'runner')
      throw new Error(`${route.path} needs no person to authenticate`);
    mount(route, [handler]);
  };
  return on;
}

/**
 * The middleware that enforces one declared access, in order: who is calling (and the request
 * limits, which then know the person: middleware/rate-limits.ts), then may they.
 */
export function accessChecks(access: RouteAccess): MiddlewareHandler<AppEnv>[] {
  switch (access.kind) {
    case 'public':
      return [];
    case 'signed_in':
      return [limitedAuthentication(authenticate())];
    case 'permission':
      return [limitedAuthentication(authenticate()), requirePermission(access.permission)];
    case 'install_admin':
      return [limitedAuthentication(authenticate()), requireInstallAdmin()];
    case 'runner':
      return [authenticateRunner()];
  }
}

/**
 * `assertAccess` without waiting: true where it lets the principal through without a read (a
 * permission its role holds, or no more than signing in); false leaves the decision, and any
 * refusal, to `assertAccess`.
 */
export function accessFromMemory(p: Principal, access: RouteAccess): boolean {
  if (access.kind === 'permission') return principalPermits(p, access.permission);
  return access.kind === 'signed_in';
}

/** The second half of `accessChecks`, for a handler that set the principal itself. */
export async function assertAccess(c: Context<AppEnv>, access: RouteAccess): Promise<void> {
  if (access.kind === 'permission') await assertPermission(c, access.permission);
  else if (access.kind === 'install_admin') await assertInstallAdmin(c);
}

type JsonStatus<R extends ApiRoute> = Extract<keyof R['responses'], ContentfulStatusCode>;

/**
 * A body serialized once for answers that repeat it (`replySerialized`), typed by what it holds:
 * its UTF-8 bytes, which each answer writes as they are (a string body is joined to the head
 * and encoded again on every answer). Never changed once made.
 */
export type SerializedBody<T> = Uint8Array<ArrayBuffer> & { readonly __serializedBody: T };

const utf8 = new TextEncoder();

export function serializeBody<T>(body: T): SerializedBody<T> {
  return utf8.encode(JSON.stringify(body)) as SerializedBody<T>;
}

/**
 * `reply` with a body serialized already (an answer many requests repeat): the same status and
 * type, made with the app-wide headers on it (answerCarrying), so its handler sets none itself.
 */
export function replySerialized<R extends ApiRoute, S extends JsonStatus<R>>(
  c: Context<AppEnv>,
  _route: R,
  status: S,
  body: SerializedBody<ResponseBody<R, S>>,
): Response {
  return answerCarrying(c, body, status, 'application/json');
}

/** A JSON answer whose body the compiler checks against the route's schema for that status. */
export function reply<R extends ApiRoute, S extends JsonStatus<R>>(
  c: Context<AppEnv>,
  _route: R,
  status: S,
  body: ResponseBody<R, S>,
): Response {
  return c.json(body as object, status);
}
