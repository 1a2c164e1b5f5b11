import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createTestApp, type TestApp } from '../harness/test-app.ts';

/** The app's own table of routes, as `METHOD /openapi/{style}` keys: what is really served. */
function mountedRoutes(t: TestApp): Set<string> {
  const out = new Set<string>();
  for (const r of t.app.routes) {
    // Middleware and the catch-alls (`/api/*`, the web's fallback) are not operations.
    if (r.method === 'ALL' || r.path.includes('*')) continue;
    out.add(`${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
  }
  return out;
}

describe('GET /openapi.json', () => {
  let t: TestApp;
  let doc: { openapi: string; paths: Record<string, Record<string, unknown>> };
  before(async () => {
    t = await createTestApp();
    const res = await t.fetch('/openapi.json');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    doc = (await res.json()) as typeof doc;
  });
  after(() => t.close());

  test('is an OpenAPI 3.1 document the validator accepts', async () => {
    assert.match(doc.openapi, /^3\.1\./);
    const verdict = await new Validator().validate(doc as never);
    assert.equal(verdict.valid, true, JSON.stringify(verdict.errors, null, 1)?.slice(0, 2_000));
  });

  test('describes every mounted route, and nothing that is not mounted', () => {
    const described = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    const mounted = mountedRoutes(t);
    assert.ok(mounted.size >= 48, `found ${mounted.size} routes`);
    assert.deepEqual([...mounted].filter((r) => !described.has(r)).sort(), [], 'mounted but not described');
    assert.deepEqual([...described].filter((r) => !mounted.has(r)).sort(), [], 'described but not mounted');
  });

  test('every operation answers errors with the one error body', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(
        ops as Record<string, { responses: Record<string, unknown> }>,
      )) {
        for (const status of ['400', '401', '404', '422']) {
          assert.ok(op.responses[status], `${method} ${path} describes ${status}`);
        }
      }
    }
  });

  test('every operation shows who may call it, as data and in its description', () => {
    const kinds = new Set(['public', 'signed_in', 'permission', 'install_admin', 'runner']);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(
        ops as Record<
          string,
          { 'x-keel-access'?: { kind: string; permission?: string }; description?: string }
        >,
      )) {
        const access = op['x-keel-access'];
        assert.ok(access && kinds.has(access.kind), `${method} ${path} declares its access`);
        if (access.kind === 'permission') assert.match(access.permission ?? '', /^[a-z]+:[a-z]+$/);
        assert.match(op.description ?? '', /^Access: /, `${method} ${path} says its access`);
      }
    }
  });
});
