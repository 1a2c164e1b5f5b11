import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MeResponse } from '@keel/contract/auth';
import { apiError, createFakeFetch, json, networkFailure, type Responder } from '../testing/fake-fetch.ts';
import { createFakeTimers } from '../testing/fake-timers.ts';
import { grant, me } from '../testing/fixtures.ts';
import { ApiError, parseRetryAfter } from './api-error.ts';
import { type ApiClientOptions, createApiClient } from './client.ts';

function setup(script: Responder[], options: Partial<ApiClientOptions> = {}) {
  const { fetch, calls } = createFakeFetch(...script);
  const clock = createFakeTimers();
  const cookies = new Map<string, string>([['keel_csrf', 'csrf-from-cookie']]);
  const client = createApiClient({
    fetch,
    readCookie: (name) => cookies.get(name),
    timers: clock.timers,
    ...options,
  });
  return { client, calls, clock, cookies };
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ApiError, `expected an ApiError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the request to fail');
}

describe('error parsing (fake fetch)', () => {
  test('turns the contract error body into a typed ApiError, issues included', async () => {
    const issues = [{ path: 'password', message: 'must be at least 10 characters' }];
    const { client } = setup([apiError(422, 'validation_failed', 'Invalid request', { issues })]);

    const error = await rejection(client.request('POST', '/api/auth/signup', { body: {} }));

    assert.equal(error.status, 422);
    assert.equal(error.code, 'validation_failed');
    assert.equal(error.message, 'Invalid request');
    assert.equal(error.requestId, 'req_test');
    assert.deepEqual(error.issues, issues);
  });

  test('a non-JSON error page (a proxy in front of the API) becomes unexpected_response', async () => {
    const { client } = setup([() => new Response('<h1>Bad gateway</h1>', { status: 502 })]);

    const error = await rejection(client.request('GET', '/api/auth/me'));

    assert.equal(error.code, 'unexpected_response');
    assert.equal(error.status, 502);
  });

  test('a JSON error that is not the contract shape becomes unexpected_response', async () => {
    const { client } = setup([json(500, { message: 'boom' })]);

    const error = await rejection(client.request('GET', '/api/auth/me'));

    assert.equal(error.code, 'unexpected_response');
  });

  test('a fetch that throws becomes network_error with status 0', async () => {
    const { client } = setup([networkFailure()]);

    const error = await rejection(client.request('GET', '/api/auth/me'));

    assert.equal(error.code, 'network_error');
    assert.equal(error.status, 0);
    assert.ok(error.cause instanceof TypeError);
  });

  test('a fetch aborted by the request timeout becomes timeout', async () => {
    const { client } = setup([
      () => {
        throw new DOMException('The operation timed out.', 'TimeoutError');
      },
    ]);

    const error = await rejection(client.request('GET', '/api/auth/me'));

    assert.equal(error.code, 'timeout');
  });

  test('rate limiting carries Retry-After', async () => {
    const { client } = setup([apiError(429, 'rate_limited', 'Too many requests', {})]);
    const withHeader = setup([
      json(
        429,
        { error: { code: 'rate_limited', message: 'Slow down', requestId: 'req_x' } },
        { 'retry-after': '30' },
      ),
    ]);

    assert.equal((await rejection(client.request('GET', '/api/auth/me'))).retryAfterSeconds, undefined);
    assert.equal((await rejection(withHeader.client.request('GET', '/api/auth/me'))).retryAfterSeconds, 30);
  });

  test('Retry-After as an HTTP date counts seconds from now', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:01:00 GMT', now), 60);
    assert.equal(parseRetryAfter('nonsense', now), undefined);
  });

  test('a success body that does not match the schema becomes unexpected_response', async () => {
    const { client } = setup([json(200, { user: { id: 'not-a-user-id' } })]);

    const error = await rejection(client.request('GET', '/api/auth/me', { schema: MeResponse }));

    assert.equal(error.code, 'unexpected_response');
  });

  test('204 resolves to undefined', async () => {
    const { client } = setup([() => new Response(null, { status: 204 })]);

    assert.equal(await client.request('POST', '/api/auth/logout', { body: {} }), undefined);
  });
});

describe('request headers (fake fetch)', () => {
  test('writes send the CSRF cookie value in the contract header, JSON, same-origin credentials', async () => {
    const { client, calls } = setup([json(200, {})]);

    await client.request('POST', '/api/things', { body: { a: 1 } });

    const [call] = calls;
    assert.ok(call);
    assert.equal(call.headers.get('x-keel-csrf'), 'csrf-from-cookie');
    assert.equal(call.headers.get('content-type'), 'application/json');
    assert.equal(call.credentials, 'same-origin');
    assert.deepEqual(call.body, { a: 1 });
  });

  test('reads send no CSRF header', async () => {
    const { client, calls } = setup([json(200, {})]);

    await client.request('GET', '/api/things');

    assert.equal(calls[0]?.headers.get('x-keel-csrf'), null);
  });

  test('without a CSRF cookie, the token from the last grant is used', async () => {
    const { client, calls, cookies } = setup([json(200, {})]);
    cookies.clear();
    client.useGrant(grant('a1'));

    await client.request('DELETE', '/api/things/1');

    assert.equal(calls[0]?.headers.get('x-keel-csrf'), 'csrf-a1');
  });

  test('the access token is sent as a Bearer token, except where authenticate is off', async () => {
    const { client, calls } = setup([json(200, {}), json(200, {})]);
    client.useGrant(grant('a1'));

    await client.request('GET', '/api/auth/me');
    await client.request('POST', '/api/auth/login', { body: {}, authenticate: false });

    assert.equal(calls[0]?.headers.get('authorization'), 'Bearer a1');
    assert.equal(calls[1]?.headers.get('authorization'), null);
  });
});

describe('refresh and retry (fake fetch)', () => {
  test('a 401 invalid_token refreshes once, then retries with the new token', async () => {
    const { client, calls } = setup([apiError(401, 'invalid_token'), json(200, grant('a2')), json(200, me)]);
    client.useGrant(grant('a1'));

    const result = await client.request('GET', '/api/auth/me', { schema: MeResponse });

    assert.deepEqual(result, me);
    assert.deepEqual(
      calls.map((call) => `${call.method} ${call.path}`),
      ['GET /api/auth/me', 'POST /api/auth/refresh', 'GET /api/auth/me'],
    );
    const refresh = calls[1];
    assert.ok(refresh);
    assert.deepEqual(refresh.body, {});
    assert.equal(refresh.headers.get('x-keel-csrf'), 'csrf-from-cookie');
    assert.equal(refresh.headers.get('authorization'), null);
    assert.equal(calls[2]?.headers.get('authorization'), 'Bearer a2');
  });

  test('a 401 unauthorized with no token yet also refreshes (a reload with only the refresh cookie)', async () => {
    const { client, calls } = setup([apiError(401, 'unauthorized'), json(200, grant('a1')), json(200, me)]);

    await client.request('GET', '/api/auth/me');

    assert.equal(calls.length, 3);
    assert.equal(calls[2]?.headers.get('authorization'), 'Bearer a1');
  });

  test('retries at most once: a second 401 is returned, not refreshed again', async () => {
    const { client, calls } = setup([
      apiError(401, 'invalid_token'),
      json(200, grant('a2')),
      apiError(401, 'invalid_token', 'still no'),
    ]);
    client.useGrant(grant('a1'));

    const error = await rejection(client.request('GET', '/api/auth/me'));

    assert.equal(error.message, 'still no');
    assert.equal(calls.length, 3);
  });

  test('when the refresh is refused, the original 401 is returned and the session ends', async () => {
    const { client, calls } = setup([
      apiError(401, 'invalid_token', 'expired'),
      apiError(401, 'invalid_token'),
    ]);
    client.useGrant(grant('a1'));
    let expired = 0;
    client.onSessionExpired(() => {
      expired += 1;
    });

    const error = await rejection(client.request('GET', '/api/auth/me'));

    assert.equal(error.message, 'expired');
    assert.equal(calls.length, 2);
    assert.equal(expired, 1);
    assert.equal(client.hasAccessToken(), false);
  });

  test('a refresh that fails for a transient reason keeps the session', async () => {
    const { client } = setup([apiError(401, 'invalid_token'), apiError(503, 'not_ready')]);
    client.useGrant(grant('a1'));
    let expired = 0;
    client.onSessionExpired(() => {
      expired += 1;
    });

    await rejection(client.request('GET', '/api/auth/me'));

    assert.equal(expired, 0);
    assert.equal(client.hasAccessToken(), true);
  });

  test('a failed first refresh with no session does not report an expiry', async () => {
    const { client } = setup([apiError(401, 'unauthorized')]);
    let expired = 0;
    client.onSessionExpired(() => {
      expired += 1;
    });

    await rejection(client.refresh());

    assert.equal(expired, 0);
  });

  test('401s that a refresh cannot fix are returned as they are', async () => {
    const { client, calls } = setup([apiError(401, 'invalid_credentials'), apiError(401, 'invalid_token')]);

    await rejection(client.request('POST', '/api/auth/login', { body: {} }));
    await rejection(client.request('POST', '/api/auth/login', { body: {}, retryOnUnauthorized: false }));

    assert.equal(calls.length, 2);
  });

  test('concurrent 401s share a single refresh', async () => {
    let release: () => void = () => {};
    const refreshGate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { client, calls } = setup([
      apiError(401, 'invalid_token'),
      apiError(401, 'invalid_token'),
      async (call) => {
        await refreshGate;
        return json(200, grant('a2'))(call);
      },
      json(200, { n: 1 }),
      json(200, { n: 2 }),
    ]);
    client.useGrant(grant('a1'));

    const both = Promise.all([client.request('GET', '/api/one'), client.request('GET', '/api/two')]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    await both;

    assert.equal(calls.filter((call) => call.path === '/api/auth/refresh').length, 1);
    assert.deepEqual(
      calls.slice(3).map((call) => call.headers.get('authorization')),
      ['Bearer a2', 'Bearer a2'],
    );
  });

  test('a 401 for a token that was already replaced retries without refreshing again', async () => {
    let answerFirst: (response: Response) => void = () => {};
    const { client, calls } = setup([
      () =>
        new Promise<Response>((resolve) => {
          answerFirst = resolve;
        }),
      json(200, grant('a2')),
      json(200, { ok: true }),
    ]);
    client.useGrant(grant('a1'));

    const pending = client.request('GET', '/api/slow');
    await client.refresh();
    answerFirst(
      new Response(JSON.stringify({ error: { code: 'invalid_token', message: 'old', requestId: 'r' } }), {
        status: 401,
      }),
    );
    await pending;

    assert.deepEqual(
      calls.map((call) => call.path),
      ['/api/slow', '/api/auth/refresh', '/api/slow'],
    );
  });

  test('refreshes run inside the cross-tab lock', async () => {
    const events: string[] = [];
    const { client } = setup([json(200, grant('a1'))], {
      withRefreshLock: async (refresh) => {
        events.push('lock');
        const result = await refresh();
        events.push('unlock');
        return result;
      },
    });

    await client.refresh();

    assert.deepEqual(events, ['lock', 'unlock']);
  });
});

describe('silent refresh (fake fetch)', () => {
  test('is scheduled a minute before expiry and reschedules itself', async () => {
    const { client, calls, clock } = setup([json(200, grant('a2', 600))]);

    client.useGrant(grant('a1', 900));
    assert.deepEqual(clock.delays(), [840_000]);

    clock.fireAll();
    await new Promise((resolve) => setTimeout(resolve, 0));

    assert.equal(calls[0]?.path, '/api/auth/refresh');
    assert.deepEqual(clock.delays(), [540_000]);
  });

  test('short-lived tokens refresh at four fifths of their life, never in a tight loop', () => {
    const { client, clock } = setup([]);

    client.useGrant(grant('a1', 10));
    assert.deepEqual(clock.delays(), [8_000]);

    client.useGrant(grant('a1', 0));
    assert.deepEqual(clock.delays(), [1_000]);
  });

  test('a lifetime beyond what setTimeout can hold is clamped rather than firing at once', () => {
    const { client, clock } = setup([]);

    client.useGrant(grant('a1', 60 * 24 * 3600));

    assert.deepEqual(clock.delays(), [2 ** 31 - 1]);
  });

  test('forgetting the grant or disposing the client cancels the timer', () => {
    const { client, clock } = setup([]);

    client.useGrant(grant('a1'));
    client.forgetGrant();
    assert.deepEqual(clock.delays(), []);

    client.useGrant(grant('a1'));
    client.dispose();
    assert.deepEqual(clock.delays(), []);
  });
});

describe('openStream (fake fetch)', () => {
  test('sends the access token and the caller’s headers, and leaves the body unread', async () => {
    const { client, calls } = setup([() => new Response('event: stdout\ndata: hi\n\n', { status: 200 })]);
    client.useGrant(grant('a1'));
    const abort = new AbortController();

    const response = await client.openStream('/api/stream', {
      headers: { 'last-event-id': '5-0' },
      signal: abort.signal,
    });

    assert.equal(await response.text(), 'event: stdout\ndata: hi\n\n');
    assert.equal(calls[0]?.method, 'GET');
    assert.equal(calls[0]?.headers.get('authorization'), 'Bearer a1');
    assert.equal(calls[0]?.headers.get('last-event-id'), '5-0');
    assert.equal(calls[0]?.signal, abort.signal);
  });

  test('a 401 for a stale token refreshes once and reopens with the new token', async () => {
    const { client, calls } = setup([
      apiError(401, 'invalid_token'),
      json(200, grant('a2')),
      () => new Response('', { status: 200 }),
    ]);
    client.useGrant(grant('a1'));

    await client.openStream('/api/stream');

    assert.deepEqual(
      calls.map((call) => call.path),
      ['/api/stream', '/api/auth/refresh', '/api/stream'],
    );
    assert.equal(calls[2]?.headers.get('authorization'), 'Bearer a2');
  });

  test('an error answer rejects with the typed ApiError', async () => {
    const { client } = setup([apiError(404, 'not_found', 'No such execution')]);

    const error = await rejection(client.openStream('/api/stream'));

    assert.equal(error.code, 'not_found');
  });
});
