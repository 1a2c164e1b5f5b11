import { z } from 'zod';
import { ErrorBody, errorStatus } from '../errors.ts';
import type { Permission, RouteAccess } from '../permissions.ts';

/**
 * One HTTP route as data: method, path (OpenAPI `{param}` form), request parts and the answers
 * per status. Plain objects in the shape `@hono/zod-openapi`'s `createRoute` takes, so the edge
 * publishes them as its OpenAPI document and the web types its client from the same objects,
 * without the contract depending on anything but zod.
 */
export interface ApiRoute {
  readonly method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  readonly path: string;
  readonly summary: string;
  readonly tags: readonly string[];
  readonly security?: readonly Record<string, readonly string[]>[];
  /** Who may call it (see permissions.ts); enforced where the edge mounts described routes. */
  readonly access: RouteAccess;
  readonly request?: {
    readonly params?: z.ZodObject;
    readonly query?: z.ZodObject;
    readonly body?: {
      readonly required?: boolean;
      readonly content: { readonly 'application/json': { readonly schema: z.ZodType } };
    };
  };
  readonly responses: Readonly<Record<number, ApiResponse>>;
}

export interface ApiResponse {
  readonly description: string;
  readonly content?: Readonly<Record<string, { readonly schema: z.ZodType }>>;
}

/** A JSON answer with its schema. */
export function json<S extends z.ZodType>(schema: S, description: string) {
  return { description, content: { 'application/json': { schema } } } as const;
}

/** A JSON request body. `required: false` for routes that accept an empty body as `{}`. */
export function body<S extends z.ZodType>(schema: S, required = true) {
  return { required, content: { 'application/json': { schema } } } as const;
}

export const noContent = { description: 'Done; no body' } as const;

/** Server-Sent Events: the body is a stream of frames, described in the contract's stream modules. */
export const eventStream = {
  description: 'A stream of Server-Sent Events (resumable with Last-Event-ID)',
  content: { 'text/event-stream': { schema: z.string() } },
} as const;

/**
 * Every status in the closed list of error codes, each with the one error body: any route may
 * refuse with any of them (validation, authentication, rate limits, an unavailable runner).
 */
export const errorResponses: Readonly<Record<number, ReturnType<typeof json<typeof ErrorBody>>>> =
  Object.fromEntries(
    [...new Set(Object.values(errorStatus))]
      .sort((a, b) => a - b)
      .map((status) => [status, json(ErrorBody, 'Refused; the body says why')]),
  );

/** Anyone, signed in or not (health, sign-in, the API's own description). */
export const publicAccess = { kind: 'public' } as const satisfies RouteAccess;
/** Any signed-in person of the organization, whatever their role (their own account). */
export const signedIn = { kind: 'signed_in' } as const satisfies RouteAccess;
/** An install administrator, whatever their organization role. */
export const installAdminAccess = { kind: 'install_admin' } as const satisfies RouteAccess;
/** A runner with its credential. */
export const runnerAccess = { kind: 'runner' } as const satisfies RouteAccess;
/** A signed-in person whose role (and token, if one was used) holds `permission`. */
export function needs<P extends Permission>(permission: P) {
  return { kind: 'permission', permission } as const satisfies RouteAccess;
}

/** How a route's access reads in a sentence (the OpenAPI description, refusals). */
export function describeAccess(access: RouteAccess): string {
  switch (access.kind) {
    case 'public':
      return 'Access: public (no sign-in).';
    case 'signed_in':
      return 'Access: any signed-in member of the organization.';
    case 'permission':
      return `Access: the \`${access.permission}\` permission.`;
    case 'install_admin':
      return 'Access: install administrators only.';
    case 'runner':
      return 'Access: a runner, with its credential.';
  }
}

/** Access token in the `Authorization: Bearer` header or the session cookie (with the CSRF header on writes). */
export const userAuth = [{ bearer: [] }, { session: [] }] as const;
/** A runner's credential in `Authorization: Bearer`. */
export const runnerAuth = [{ runnerCredential: [] }] as const;

/** The statuses a route answers with success bodies (2xx, 101, and 302 for browser redirects), for clients and tests. */
export type SuccessStatus<R extends ApiRoute> = Extract<
  keyof R['responses'],
  101 | 200 | 201 | 202 | 204 | 302
>;

/** The JSON body a route answers with at `status`; `undefined` for statuses without one. */
export type ResponseBody<R extends ApiRoute, S extends keyof R['responses']> = R['responses'][S] extends {
  content: { 'application/json': { schema: infer T extends z.ZodType } };
}
  ? z.infer<T>
  : undefined;

/** What a client fills in to call a route: its path parameters, query and JSON body, as typed by the schemas. */
export type RouteInput<R extends ApiRoute> = Part<'params', R> & Part<'query', R> & BodyPart<R>;

type RequestOf<R extends ApiRoute> = NonNullable<R['request']>;
type Part<K extends 'params' | 'query', R extends ApiRoute> = RequestOf<R>[K] extends infer S extends
  z.ZodType
  ? { [P in K]: z.input<S> }
  : { [P in K]?: never };
type BodyPart<R extends ApiRoute> = RequestOf<R>['body'] extends {
  content: { 'application/json': { schema: infer S extends z.ZodType } };
}
  ? { body: z.input<S> }
  : { body?: never };

/** What a successful call of the route hands back, parsed by its schema. */
export type RouteOutput<R extends ApiRoute> = ResponseBody<R, SuccessStatus<R>>;

/** The schema of the route's first success answer with a JSON body: what a client parses it with. */
export function successSchema(route: ApiRoute): z.ZodType | undefined {
  for (const status of [200, 201, 202]) {
    const schema = responseSchema(route, status);
    if (schema) return schema;
  }
  return undefined;
}

/** The JSON schema of the answer at `status`, if it has one. */
export function responseSchema(route: ApiRoute, status: number): z.ZodType | undefined {
  return route.responses[status]?.content?.['application/json']?.schema;
}

/** Fills `{name}` segments of a route's path, each value URL-encoded. */
export function fillPath(path: string, params: Readonly<Record<string, string>> = {}): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new TypeError(`missing path parameter ${name}`);
    return encodeURIComponent(value);
  });
}
