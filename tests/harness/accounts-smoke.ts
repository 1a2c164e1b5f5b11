import assert from 'node:assert/strict';
import { AUTH_COOKIES } from '@keel/contract/auth';
import { BrowserClient } from './browser-client.ts';

const PASSWORD = 'correct horse battery staple';

/**
 * The same end-to-end accounts story, over real HTTP, for every runtime the edge ships on:
 * signup → login → me → refresh → re-use detection → logout, plus the page, the guards and
 * the API's own description (/openapi.json).
 */
export async function runAccountsSmoke(baseUrl: string): Promise<void> {
  const http = (path: string, init?: RequestInit) => fetch(new URL(path, baseUrl), init);

  const health = await http('/healthz');
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });
  const ready = await http('/readyz');
  assert.equal(ready.status, 200, await ready.clone().text());
  const described = await http('/openapi.json');
  assert.equal(described.status, 200, await described.clone().text());
  const doc = (await described.json()) as { openapi: string; paths: Record<string, unknown> };
  assert.match(doc.openapi, /^3\.1\./);
  assert.ok(doc.paths['/api/workspaces/{id}/files'], 'the document describes the routes on this runtime too');

  const page = await http('/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await page.text(), /<div id="root">|<script type="module"/);
  assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  const deepLink = await http('/workspaces/some/deep/link');
  assert.equal(deepLink.status, 200, 'client-side routes get the app');

  const ann = new BrowserClient(http);
  const signup = await ann.request('POST', '/api/auth/signup', {
    email: 'ann@example.com',
    password: PASSWORD,
    name: 'Ann',
    organization: 'Acme',
  });
  assert.equal(signup.status, 201, JSON.stringify(signup.body));
  assert.equal(signup.body.role, 'super_admin');
  assert.match(signup.headers.get('x-request-id') ?? '', /\S/);

  const second = await new BrowserClient(http).request('POST', '/api/auth/signup', {
    email: 'bob@example.com',
    password: PASSWORD,
    name: 'Bob',
  });
  assert.equal(second.status, 403);
  assert.equal(second.body.error.code, 'invitation_required');

  const login = await ann.request('POST', '/api/auth/login', {
    email: 'ann@example.com',
    password: PASSWORD,
  });
  assert.equal(login.status, 200);
  const wrong = await new BrowserClient(http).request('POST', '/api/auth/login', {
    email: 'ann@example.com',
    password: 'nope nope nope',
  });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error.code, 'invalid_credentials');

  const me = await ann.request('GET', '/api/auth/me', undefined, { bearer: true });
  assert.equal(me.status, 200);
  assert.equal(me.body.organization.name, 'Acme');
  assert.equal((await ann.request('GET', '/api/auth/me')).status, 200, 'cookie session');

  const stolen = ann.cookie(AUTH_COOKIES.refresh)!;
  const refreshed = await ann.request('POST', '/api/auth/refresh', {});
  assert.equal(refreshed.status, 200);
  assert.notEqual(ann.cookie(AUTH_COOKIES.refresh), stolen);
  const reuse = await new BrowserClient(http).request('POST', '/api/auth/refresh', { refreshToken: stolen });
  assert.equal(reuse.status, 401);
  assert.equal(
    (await ann.request('GET', '/api/auth/me', undefined, { bearer: true })).status,
    401,
    'family revoked',
  );

  const again = new BrowserClient(http);
  await again.request('POST', '/api/auth/login', { email: 'ann@example.com', password: PASSWORD });
  assert.equal((await again.request('POST', '/api/auth/logout')).status, 204);
  assert.equal((await again.request('GET', '/api/auth/me', undefined, { bearer: true })).status, 401);

  const badJson = await http('/api/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{',
  });
  assert.equal(badJson.status, 400);
  const big = await http('/api/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(2_000_000) }),
  });
  assert.equal(big.status, 413);
  const forged = await http('/api/auth/me', {
    headers: { authorization: `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.e30.` },
  });
  assert.equal(forged.status, 401);

  const jwks = await http('/.well-known/jwks.json');
  assert.equal(jwks.status, 200);
  assert.ok(((await jwks.json()) as { keys: unknown[] }).keys.length >= 1);
}
