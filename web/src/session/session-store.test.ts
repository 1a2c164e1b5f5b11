import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRoot } from 'solid-js';
import { ApiError } from '../api/api-error.ts';
import { createAuthApi } from '../api/auth-api.ts';
import { createApiClient } from '../api/client.ts';
import { apiError, createFakeFetch, json, networkFailure, type Responder } from '../testing/fake-fetch.ts';
import { createFakeTimers } from '../testing/fake-timers.ts';
import { grant, me, organization, user } from '../testing/fixtures.ts';
import { can } from './permissions.ts';
import { createSessionStore } from './session-store.ts';

/** The real client and auth API over a scripted fetch: the store is tested against the wire, not a mock. */
function setup(...script: Responder[]) {
  const { fetch, calls } = createFakeFetch(...script);
  const client = createApiClient({
    fetch,
    readCookie: (name) => (name === 'keel_csrf' ? 'csrf-cookie' : undefined),
    timers: createFakeTimers().timers,
  });
  const session = createRoot(() => createSessionStore(createAuthApi(client)));
  return { session, client, calls, paths: () => calls.map((call) => `${call.method} ${call.path}`) };
}

describe('start (fake fetch)', () => {
  test('restores a session: refresh, then /me, then signed in', async () => {
    const { session, calls, paths } = setup(json(200, grant('a1')), json(200, me));
    assert.equal(session.state().status, 'loading');

    await session.start();

    assert.deepEqual(paths(), ['POST /api/auth/refresh', 'GET /api/auth/me']);
    assert.equal(calls[1]?.headers.get('authorization'), 'Bearer a1');
    assert.deepEqual(session.state(), {
      status: 'signedIn',
      user,
      organization,
      role: 'developer',
      installAdmin: false,
      permissions: me.permissions,
    });
  });

  test('no refresh cookie means signed out, quietly, without asking /me', async () => {
    const { session, paths } = setup(apiError(401, 'unauthorized'));

    await session.start();

    assert.deepEqual(paths(), ['POST /api/auth/refresh']);
    assert.deepEqual(session.state(), { status: 'signedOut' });
  });

  test('an unreachable server means signed out with a notice', async () => {
    const { session } = setup(networkFailure());

    await session.start();

    assert.deepEqual(session.state(), { status: 'signedOut', notice: 'unavailable' });
  });

  test('a failing /me after a good refresh signs out and drops the token', async () => {
    const { session, client } = setup(json(200, grant('a1')), apiError(500, 'internal_error'));

    await session.start();

    assert.deepEqual(session.state(), { status: 'signedOut', notice: 'unavailable' });
    assert.equal(client.hasAccessToken(), false);
  });
});

describe('sign in, sign up, sign out (fake fetch)', () => {
  test('sign-in logs in, then reads organization and role from /me', async () => {
    const { session, calls, paths } = setup(
      apiError(401, 'unauthorized'),
      json(200, grant('a1')),
      json(200, { ...me, role: 'admin' }),
    );
    await session.start();

    await session.signIn({ email: 'ada@example.com', password: 'correct horse battery' });

    assert.deepEqual(paths().slice(1), ['POST /api/auth/login', 'GET /api/auth/me']);
    assert.deepEqual(calls[1]?.body, { email: 'ada@example.com', password: 'correct horse battery' });
    assert.equal(calls[1]?.headers.get('x-keel-csrf'), 'csrf-cookie');
    const state = session.state();
    assert.equal(state.status, 'signedIn');
    assert.equal(state.status === 'signedIn' && state.role, 'admin');
  });

  test('wrong credentials reject with the API error and leave the state signed out, with no refresh', async () => {
    const { session, calls } = setup(apiError(401, 'unauthorized'), apiError(401, 'invalid_credentials'));
    await session.start();

    await assert.rejects(
      session.signIn({ email: 'ada@example.com', password: 'nope' }),
      (error) => error instanceof ApiError && error.code === 'invalid_credentials',
    );

    assert.deepEqual(session.state(), { status: 'signedOut' });
    assert.equal(calls.length, 2);
  });

  test('sign-up signs in straight from the response', async () => {
    const { session, paths } = setup(apiError(401, 'unauthorized'), json(201, { ...grant('a1'), ...me }));
    await session.start();

    await session.signUp({ email: 'ada@example.com', password: 'correct horse battery', name: 'Ada' });

    assert.deepEqual(paths().slice(1), ['POST /api/auth/signup']);
    assert.equal(session.state().status, 'signedIn');
    // Signup answers with the role; a fresh session holds the role's whole set.
    assert.equal(can(session.state(), 'workspaces:use'), true);
    assert.equal(can(session.state(), 'members:manage'), false);
  });

  test('what the person may do comes from /me, never from comparing roles', async () => {
    const viewer = { ...me, role: 'viewer' as const, permissions: ['workspaces:read' as const] };
    const { session } = setup(json(200, grant('a1')), json(200, viewer));
    assert.equal(can(session.state(), 'workspaces:read'), false, 'nobody may do anything while loading');
    await session.start();
    assert.equal(can(session.state(), 'workspaces:read'), true);
    assert.equal(can(session.state(), 'workspaces:use'), false);
    // A token narrowed below its role: the server's list stands, whatever the role says.
    const narrowed = { ...me, role: 'admin' as const, permissions: ['workspaces:read' as const] };
    const second = setup(json(200, grant('a2')), json(200, narrowed)).session;
    await second.start();
    assert.equal(can(second.state(), 'workspaces:use'), false);
  });

  test('sign-out tells the server, forgets the token and signs out', async () => {
    const { session, client, calls } = setup(
      json(200, grant('a1')),
      json(200, me),
      () => new Response(null, { status: 204 }),
    );
    await session.start();

    await session.signOut();

    assert.equal(calls[2]?.path, '/api/auth/logout');
    assert.equal(calls[2]?.headers.get('x-keel-csrf'), 'csrf-cookie');
    assert.deepEqual(session.state(), { status: 'signedOut' });
    assert.equal(client.hasAccessToken(), false);
  });

  test('a sign-out the server never heard of keeps the person signed in and rejects', async () => {
    const { session } = setup(json(200, grant('a1')), json(200, me), networkFailure());
    await session.start();

    await assert.rejects(
      session.signOut(),
      (error) => error instanceof ApiError && error.code === 'network_error',
    );

    assert.equal(session.state().status, 'signedIn');
  });

  test('a sign-out answered 401 (session already gone) still signs out', async () => {
    const { session } = setup(
      json(200, grant('a1')),
      json(200, me),
      apiError(401, 'invalid_token'),
      apiError(401, 'invalid_token'),
    );
    await session.start();

    await session.signOut();

    assert.equal(session.state().status, 'signedOut');
  });
});

describe('expiry (fake fetch)', () => {
  test('any request whose refresh is refused signs a signed-in store out with the "expired" notice', async () => {
    const { session, client } = setup(
      json(200, grant('a1')),
      json(200, me),
      apiError(401, 'invalid_token'),
      apiError(401, 'invalid_token'),
    );
    await session.start();

    await assert.rejects(client.request('GET', '/api/workspaces'));

    assert.deepEqual(session.state(), { status: 'signedOut', notice: 'expired' });
  });

  test('the client reporting an ended session moves a signed-in store to signedOut/expired', async () => {
    const { session, client } = setup(json(200, grant('a1')), json(200, me), apiError(401, 'invalid_token'));
    await session.start();

    await assert.rejects(client.refresh());

    assert.deepEqual(session.state(), { status: 'signedOut', notice: 'expired' });
  });
});
