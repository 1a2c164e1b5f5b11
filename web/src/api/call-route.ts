import {
  type ApiRoute,
  fillPath,
  type RouteInput,
  type RouteOutput,
  successSchema,
} from '@keel/contract/api/describe';
import type { ApiClient, HttpMethod, ResponseSchema } from './client.ts';

/**
 * Calls a route as the contract describes it (`@keel/contract/api/*`): the path filled from its
 * parameters, the query and body typed by its request schemas, and the answer parsed with its
 * response schema, so a server that answers something else fails here, as `unexpected_response`.
 */
export function callRoute<R extends ApiRoute>(
  client: ApiClient,
  route: R,
  input: RouteInput<R>,
): Promise<RouteOutput<R>> {
  const { params, query, body } = input as {
    params?: Record<string, string>;
    query?: Record<string, unknown>;
    body?: unknown;
  };
  const schema = successSchema(route) as ResponseSchema<RouteOutput<R>> | undefined;
  return client.request(route.method.toUpperCase() as HttpMethod, routeUrl(route, params, query), {
    ...(body === undefined ? {} : { body }),
    ...(schema ? { schema } : {}),
  });
}

/** The route's path with its parameters and query filled in (values URL-encoded; absent ones left out). */
export function routeUrl(
  route: ApiRoute,
  params?: Record<string, string>,
  query?: Record<string, unknown>,
): string {
  const pairs = Object.entries(query ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  const path = fillPath(route.path, params);
  return pairs.length ? `${path}?${pairs.join('&')}` : path;
}
