import type { Context } from 'hono';
import { matchedRoutes } from 'hono/route';
import { notFound } from '../http/error-handler.ts';

/** Where each answered request is recorded (prom-recorder.ts). */
export interface RequestRecorder {
  request(route: string, method: string, status: number, seconds: number): void;
}

/** Label values for methods; anything else a client sends is `OTHER`, so the label stays bounded. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** `route` of a request Hono matched to no handler of its own (`/api/*`'s not-found included). */
export const UNMATCHED = 'unmatched';
/** `route` of what the web app's catch-all served (its files, and index.html for client routes). */
export const WEB = 'web';

/**
 * The template of the route that answers (`/api/workspaces/:id`), never the path asked for: the
 * first matched route registered for a method, in the order they run (the one a refusing
 * middleware stood in front of, too). Middlewares (`use`) are registered for every method and
 * are skipped; a request that meets the API's not-found (`/api/*`) first, or no handler at
 * all, is `unmatched`.
 */
export function routeTemplate(c: Context): string {
  for (const route of matchedRoutes(c)) {
    if (route.handler === notFound) return UNMATCHED;
    if (route.method === 'ALL') continue;
    return route.path === '*' || route.path === '/*' ? WEB : route.path;
  }
  return UNMATCHED;
}

/**
 * Records every request's route template, method, status and time to answer (a request
 * observer of the outermost middleware), only when metrics are on: with them off the app
 * records nothing.
 */
export function requestMetrics(recorder: RequestRecorder) {
  return function recordRequest(c: Context, status: number, seconds: number): void {
    const method = c.req.method;
    recorder.request(routeTemplate(c), METHODS.has(method) ? method : 'OTHER', status, seconds);
  };
}
