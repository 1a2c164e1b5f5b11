import { type ApiRoute, responseSchema } from '@keel/contract/api/describe';
import { apiRoutes } from '@keel/contract/api/routes';
import { ErrorBody } from '@keel/contract/errors';

interface Template {
  route: ApiRoute;
  pattern: RegExp;
  /** Literal segments: `/api/workspaces/policy` wins over `/api/workspaces/{id}`. */
  literals: number;
}

const templates: Template[] = apiRoutes.map((route) => ({
  route,
  pattern: new RegExp(`^${route.path.replace(/\{\w+\}/g, '[^/]+').replace(/\./g, '\\.')}$`),
  literals: route.path.split('/').filter((s) => s && !s.startsWith('{')).length,
}));

/** The description of the route a request reaches, if the contract describes one. */
export function routeOf(method: string, url: string): ApiRoute | undefined {
  const path = new URL(url, 'http://keel.test').pathname;
  const m = method.toLowerCase();
  return templates
    .filter((t) => t.route.method === m && t.pattern.test(path))
    .sort((a, b) => b.literals - a.literals)[0]?.route;
}

/**
 * Checks an answer against its route's description: a success body with the schema of its
 * status (a status the route does not describe is itself a failure), any error with the one
 * error body. Bodies that are not JSON (event streams, downloads) are left to their tests.
 */
export function checkResponse(method: string, url: string, status: number, body: unknown): void {
  const route = routeOf(method, url);
  if (!route) return;
  const where = `${method} ${url} answered ${status}`;
  if (status >= 400) {
    const parsed = ErrorBody.safeParse(body);
    if (!parsed.success) throw new Error(`${where} without the error body: ${parsed.error.message}`);
    return;
  }
  if (!route.responses[status]) throw new Error(`${where}, which ${route.path} does not describe`);
  const schema = responseSchema(route, status);
  if (!schema || typeof body !== 'object' || body === null) return;
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new Error(`${where} with a body its schema refuses: ${parsed.error.message}`);
}

/** `checkResponse` for a fetch answer: reads a copy of a JSON body, leaving the answer unread. */
export async function checkedResponse(method: string, url: string, res: Response): Promise<Response> {
  if (!res.headers.get('content-type')?.includes('application/json')) return res;
  const text = await res.clone().text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(
      `${method} ${url} answered ${res.status} with JSON that does not parse: ${text.slice(0, 200)}`,
    );
  }
  checkResponse(method, url, res.status, body);
  return res;
}
