import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { auditEvents, invitations, memberships, organizations, users } from '@keel/drizzle/schema';
import { count } from 'drizzle-orm';
import { BrowserClient } from '../harness/browser-client.ts';
import { createTestApp, DATABASE_KINDS, type TestApp } from '../harness/test-app.ts';

const PASSWORD = 'correct horse battery staple';

/** Every error answers with the one body shape, a 4xx, and the request id it was given. */
async function expectError(res: Response, status: number, code: string) {
  assert.equal(res.status, status);
  const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
  assert.equal(body.error.code, code);
  assert.ok(body.error.message.length > 0);
  assert.equal(body.error.requestId, res.headers.get('x-request-id'));
  return body;
}

const post = (t: TestApp, path: string, body: string, type = 'application/json') =>
  t.fetch(path, { method: 'POST', headers: { 'content-type': type }, body });

async function tableCounts(t: TestApp) {
  const db = t.services.db;
  const n = async (table: Parameters<typeof db.select>[0] extends never ? never : any) =>
    (await db.select({ n: count() }).from(table))[0]!.n;
  return {
    users: await n(users),
    organizations: await n(organizations),
    memberships: await n(memberships),
    invitations: await n(invitations),
  };
}

for (const database of DATABASE_KINDS) {
  describe(`accounts, bad input (${database})`, () => {
    let t: TestApp;
    let orgId: string;
    let admin: BrowserClient;
    before(async () => {
      t = await createTestApp({ database });
      admin = new BrowserClient(t.fetch);
      const res = await admin.request('POST', '/api/auth/signup', {
        email: 'a@example.com',
        password: PASSWORD,
        name: 'A',
      });
      orgId = res.body.organization.id;
    });
    after(() => t.close());

    test('malformed JSON is a 400', async () => {
      await expectError(await post(t, '/api/auth/login', '{"email": "a@'), 400, 'invalid_json');
      await expectError(await post(t, '/api/auth/signup', ''), 400, 'invalid_json');
    });

    test('a body that is not JSON is a 415', async () => {
      await expectError(
        await post(t, '/api/auth/login', 'email=a', 'application/x-www-form-urlencoded'),
        415,
        'unsupported_media_type',
      );
    });

    test('missing, wrong-typed and unknown fields are a 422 naming each field', async () => {
      const missing = await expectError(await post(t, '/api/auth/signup', '{}'), 422, 'validation_failed');
      const paths = (missing as any).error.issues.map((i: { path: string }) => i.path).sort();
      assert.deepEqual(paths, ['email', 'name', 'password']);
      await expectError(
        await post(t, '/api/auth/login', '{"email": 5, "password": []}'),
        422,
        'validation_failed',
      );
      const unknown = await expectError(
        await post(
          t,
          '/api/auth/login',
          JSON.stringify({ email: 'a@example.com', password: 'x', isAdmin: true }),
        ),
        422,
        'validation_failed',
      );
      assert.match(JSON.stringify(unknown), /isAdmin/);
      await expectError(await post(t, '/api/auth/login', '[]'), 422, 'validation_failed');
      await expectError(await post(t, '/api/auth/login', 'null'), 422, 'validation_failed');
      await expectError(
        await post(
          t,
          '/api/auth/signup',
          JSON.stringify({ email: 'not-an-email', password: PASSWORD, name: 'x' }),
        ),
        422,
        'validation_failed',
      );
      await expectError(
        await post(
          t,
          '/api/auth/signup',
          JSON.stringify({ email: 'b@example.com', password: 'short', name: 'x' }),
        ),
        422,
        'validation_failed',
      );
    });

    test('an oversize body is a 413, with or without a Content-Length', async () => {
      const big = JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(2 * 1024 * 1024) });
      await expectError(await post(t, '/api/auth/login', big), 413, 'payload_too_large');
      const stream = new ReadableStream({
        start(controller) {
          for (let i = 0; i < 40; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(64 * 1024)));
          controller.close();
        },
      });
      const res = await t.fetch('/api/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      await expectError(res, 413, 'payload_too_large');
    });

    test('a second account without an invitation is refused and writes nothing', async () => {
      const before = await tableCounts(t);
      const res = await post(
        t,
        '/api/auth/signup',
        JSON.stringify({ email: 'z@example.com', password: PASSWORD, name: 'Z' }),
      );
      await expectError(res, 403, 'invitation_required');
      assert.deepEqual(await tableCounts(t), before);
    });

    test('a taken e-mail is a 409 and writes nothing, even with a valid invitation', async () => {
      const inv = await admin.request(
        'POST',
        `/api/orgs/${orgId}/invitations`,
        { role: 'viewer' },
        { bearer: true },
      );
      const before = await tableCounts(t);
      const res = await post(
        t,
        '/api/auth/signup',
        JSON.stringify({
          email: 'A@example.com',
          password: PASSWORD,
          name: 'A2',
          inviteToken: inv.body.token,
        }),
      );
      await expectError(res, 409, 'email_taken');
      assert.deepEqual(await tableCounts(t), before);
      const list = await admin.request('GET', `/api/orgs/${orgId}/invitations`, undefined, { bearer: true });
      const still = list.body.invitations.find((i: { id: string }) => i.id === inv.body.invitation.id);
      assert.equal(still.acceptedAt, null, 'the invitation was not spent');
    });

    test('an invitation bound to another address, or a made-up one, is refused', async () => {
      const inv = await admin.request(
        'POST',
        `/api/orgs/${orgId}/invitations`,
        { email: 'dora@example.com', role: 'developer' },
        { bearer: true },
      );
      const wrong = await post(
        t,
        '/api/auth/signup',
        JSON.stringify({
          email: 'mallory@example.com',
          password: PASSWORD,
          name: 'M',
          inviteToken: inv.body.token,
        }),
      );
      await expectError(wrong, 403, 'invitation_invalid');
      const madeUp = await post(
        t,
        '/api/auth/signup',
        JSON.stringify({
          email: 'mallory@example.com',
          password: PASSWORD,
          name: 'M',
          inviteToken: 'inv_nope',
        }),
      );
      await expectError(madeUp, 403, 'invitation_invalid');
    });

    test('a wrong password and an unknown e-mail give the same answer', async () => {
      const wrong = await post(
        t,
        '/api/auth/login',
        JSON.stringify({ email: 'a@example.com', password: 'wrong password' }),
      );
      const unknown = await post(
        t,
        '/api/auth/login',
        JSON.stringify({ email: 'nobody@example.com', password: 'wrong password' }),
      );
      const a = await expectError(wrong, 401, 'invalid_credentials');
      const b = await expectError(unknown, 401, 'invalid_credentials');
      assert.equal(a.error.message, b.error.message);
    });

    test('bad invitation input: role, expiry, unknown fields, malformed ids', async () => {
      for (const body of [
        { role: 'owner' },
        { expiresInSeconds: 1 },
        { role: 'viewer', extra: 1 },
        { email: 'x' },
      ]) {
        const res = await admin.request('POST', `/api/orgs/${orgId}/invitations`, body, { bearer: true });
        assert.equal(res.status, 422, JSON.stringify(body));
        assert.equal(res.body.error.code, 'validation_failed');
      }
      const bad = await admin.request('DELETE', `/api/orgs/${orgId}/invitations/not-an-id`, undefined, {
        bearer: true,
      });
      assert.equal(bad.status, 404);
      const odd = await admin.request('GET', '/api/orgs/%00%ff/invitations', undefined, { bearer: true });
      assert.equal(odd.status, 404);
    });

    test('unknown routes and methods answer 404 with the error body', async () => {
      await expectError(await t.fetch('/api/nothing-here'), 404, 'not_found');
      await expectError(await t.fetch('/api/auth/login'), 404, 'not_found');
    });

    test('refresh and logout without any session are a 401', async () => {
      await expectError(await t.fetch('/api/auth/refresh', { method: 'POST' }), 401, 'unauthorized');
      await expectError(
        await post(t, '/api/auth/refresh', '{"refreshToken":"rt_bogus"}'),
        401,
        'invalid_token',
      );
      await expectError(await t.fetch('/api/auth/logout', { method: 'POST' }), 401, 'unauthorized');
    });

    test('the audit trail recorded the failures without any address or password', async () => {
      const rows = await t.services.db.select().from(auditEvents);
      const text = JSON.stringify(rows);
      assert.ok(rows.some((r) => r.action === 'auth.login' && r.outcome === 'failure'));
      assert.equal(text.includes('nobody@example.com'), false);
      assert.equal(text.includes('wrong password'), false);
    });
  });
}
