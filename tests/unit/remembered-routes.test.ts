/**
 * The edge's router keeps what each method and path matched (http/remembered-routes.ts): what it
 * answers, first time or kept, must be what Hono's own router answers for Keel's routes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';
import { createApp } from '../../edge/src/app.ts';
import { RememberedRoutes } from '../../edge/src/http/remembered-routes.ts';

test('every route matches as under Hono’s own router, the first time and when kept', () => {
  const app = createApp({ provideServices: (_c, next) => next(), clientIp: () => undefined });
  const remembered = new RememberedRoutes<unknown>();
  const hono = new SmartRouter<unknown>({ routers: [new RegExpRouter(), new TrieRouter()] });
  for (const r of app.routes) {
    remembered.add(r.method, r.path, r.handler);
    hono.add(r.method, r.path, r.handler);
  }
  // Each route's own path with ids in it, and paths around them (static siblings, unknown ones).
  const paths = new Set(['/', '/api/workspaces', '/api/workspaces/policy', '/api/nothing', '/x/y']);
  for (const r of app.routes)
    paths.add(r.path.replace(/:(\w+)/g, (_m, name) => `${name}-1`).replace('*', 'a/b'));
  const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
  let compared = 0;
  for (let round = 0; round < 2; round++)
    for (const method of methods)
      for (const path of paths) {
        assert.deepEqual(remembered.match(method, path), hono.match(method, path), `${method} ${path}`);
        compared++;
      }
  assert.ok(compared > 500, `compared ${compared}`);
});

test('a path with an id gives its own parameters, also once many paths were kept', () => {
  const router = new RememberedRoutes<string>();
  router.add('GET', '/api/workspaces/policy', 'policy');
  router.add('GET', '/api/workspaces/:id', 'one');
  const idOf = (path: string) => {
    const [handlers, stash] = router.match('GET', path) as [[string, Record<string, number>][], string[]];
    return stash ? stash[handlers[0]![1].id!] : (handlers[0]![1] as unknown as Record<string, string>).id;
  };
  for (let i = 0; i < 5_000; i++) assert.equal(idOf(`/api/workspaces/ws_${i % 2_500}`), `ws_${i % 2_500}`);
  assert.equal(router.match('GET', '/api/workspaces/policy')[0][0]![0], 'policy');
});
