import { OpenAPIHono } from '@hono/zod-openapi';
import { apiRoutes } from '@keel/contract/api/routes';
import { AUTH_COOKIES, CSRF_HEADER } from '@keel/contract/auth';
import { CONTRACT_VERSION } from '@keel/contract/version';

/**
 * `GET /openapi.json`: the contract's route descriptions as an OpenAPI 3.1 document. Built once
 * per process (plain data, so workerd may keep it between requests too).
 */
export function openApiDocument(): unknown {
  documentCache ??= buildDocument();
  return documentCache;
}

let documentCache: unknown;

function buildDocument(): unknown {
  const app = new OpenAPIHono();
  const registry = app.openAPIRegistry;
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token from login, signup or refresh',
  });
  registry.registerComponent('securitySchemes', 'session', {
    type: 'apiKey',
    in: 'cookie',
    name: AUTH_COOKIES.access,
    description: `The browser session; writes also send the ${AUTH_COOKIES.csrf} cookie’s value in ${CSRF_HEADER}`,
  });
  registry.registerComponent('securitySchemes', 'runnerCredential', {
    type: 'http',
    scheme: 'bearer',
    description: 'A runner’s credential from registration',
  });
  for (const { access, ...route } of apiRoutes) {
    // Who may call it, as an extension field: OpenAPI has no word of its own for permissions.
    const described = access ? { ...route, 'x-keel-access': access } : route;
    registry.registerPath(described as Parameters<typeof registry.registerPath>[0]);
  }
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: { title: 'Keel API', version: `${CONTRACT_VERSION}` },
  });
}
