import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { auditEvents, identityProviders, memberships, organizations, users } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { createApp } from '../../edge/src/app.ts';
import { newId } from '../../edge/src/ids.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { freePort } from '../harness/ports.ts';
import {
  GROUPS,
  groupDn,
  PASSWORD_SUFFIX,
  PEOPLE,
  personDn,
  SERVICE_DN,
  type SlapdServer,
  startSlapd,
} from '../harness/slapd.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';

const ROOT_PASSWORD = 'correct horse battery staple';
const pw = (uid: string) => `${uid}${PASSWORD_SUFFIX}`;

describe('directory sign-in against a real slapd (StartTLS and LDAPS, real PostgreSQL and Redis)', () => {
  let slapd: SlapdServer;
  let t: TestApp;
  let root: BrowserClient;
  /** Every response body the tests saw, to prove no secret ever left the edge. */
  const seen: string[] = [];
  const logged: string[] = [];
  const restore: Array<() => void> = [];
  let silent: Server | undefined;
  const silentSockets: Socket[] = [];

  const recordingFetch = (path: string, init?: RequestInit) =>
    t.fetch(path, init).then(async (res) => {
      seen.push(await res.clone().text());
      return res;
    });
  const client = () => new BrowserClient(recordingFetch);

  function ldapConfig(overrides: Record<string, unknown> = {}) {
    return {
      url: slapd.ldapUrl,
      startTls: true,
      caCertificate: slapd.ca,
      bindDn: SERVICE_DN,
      bindPassword: slapd.servicePassword,
      userSearchBase: PEOPLE,
      userFilter: '(&(objectClass=inetOrgPerson)(uid={{username}}))',
      groups: { kind: 'search', searchBase: GROUPS, filter: '(member={{dn}})' },
      groupRoleMap: [
        { group: groupDn('admins'), role: 'admin' },
        { group: groupDn('developers'), role: 'developer' },
      ],
      defaultRole: 'viewer',
      disabled: { kind: 'attribute', attribute: 'employeeType', value: 'disabled' },
      timeoutSeconds: 2,
      recheckMinutes: 0,
      ...overrides,
    };
  }

  async function save(slug: string, config: Record<string, unknown>, id?: string) {
    return root.request('PUT', '/api/admin/sign-in/providers', {
      ...(id ? { id } : {}),
      kind: 'ldap',
      name: `Directory ${slug}`,
      slug,
      config,
    });
  }

  const login = (provider: string, username: string, password: string, c = client()) =>
    c.request('POST', '/api/auth/ldap/login', { provider, username, password }).then((r) => ({ ...r, c }));

  before(async () => {
    for (const level of ['log', 'info', 'warn', 'error'] as const) {
      const original = console[level];
      console[level] = (...args: unknown[]) => {
        logged.push(args.map(String).join(' '));
        original(...args);
      };
      restore.push(() => {
        console[level] = original;
      });
    }
    slapd = await startSlapd();
    // Many sign-ins from one address within a minute: the limit is not what these tests are about.
    t = await createTestApp({ database: 'postgres', env: { KEEL_LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } });
    root = client();
    const res = await root.request('POST', '/api/auth/signup', {
      email: 'root@example.com',
      password: ROOT_PASSWORD,
      name: 'Root',
    });
    assert.equal(res.status, 201);
    const created = await save('corp', ldapConfig());
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const ldaps = await save('corp-ldaps', ldapConfig({ url: slapd.ldapsUrl, startTls: false }));
    assert.equal(ldaps.status, 201, JSON.stringify(ldaps.body));
  });

  after(async () => {
    for (const r of restore) r();
    for (const s of silentSockets) s.destroy();
    silent?.close();
    await t?.close();
    await slapd?.stop();
  });

  test('the settings are validated, listed without the bind password, and the directory test reports what a sign-in would get', async () => {
    const plain = await save('plain', ldapConfig({ startTls: false }));
    assert.equal(plain.status, 422, 'ldap:// without StartTLS needs the explicit insecure flag');
    const noFilter = await save('nofilter', ldapConfig({ userFilter: '(uid=alice)' }));
    assert.equal(noFilter.status, 422);

    const list = await root.request('GET', '/api/admin/sign-in/providers');
    assert.equal(list.status, 200);
    const corp = list.body.providers.find((p: any) => p.slug === 'corp');
    assert.equal(corp.config.hasBindPassword, true);
    assert.equal('bindPassword' in corp.config, false);

    // Changing the name without a password keeps the sealed one.
    const { bindPassword: _, ...withoutPassword } = ldapConfig();
    const renamed = await save('corp', withoutPassword, corp.id);
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.config.hasBindPassword, true);

    const found = await root.request('POST', `/api/admin/sign-in/providers/${corp.id}/test`, {
      username: 'alice',
    });
    assert.equal(found.status, 200);
    assert.equal(found.body.ok, true);
    assert.equal(found.body.user.dn, personDn('alice'));
    assert.equal(found.body.user.email, 'alice@corp.keel.test');
    assert.deepEqual(found.body.user.groups, [groupDn('admins')]);
    assert.equal(found.body.user.role, 'admin');

    const missing = await root.request('POST', `/api/admin/sign-in/providers/${corp.id}/test`, {
      username: 'nobody',
    });
    assert.deepEqual(missing.body.error.code, 'not_found');

    const publicList = await client().request('GET', '/api/auth/providers');
    assert.equal(publicList.status, 200);
    assert.deepEqual(
      publicList.body.providers.map((p: any) => Object.keys(p).sort()),
      publicList.body.providers.map(() => ['kind', 'name', 'slug', 'startUrl']),
    );
    assert.ok(publicList.body.providers.some((p: any) => p.slug === 'corp'));
  });

  test('a directory person signs in by StartTLS and by LDAPS, created once without a password, with the mapped role', async () => {
    const bob = await login('corp', 'bob', pw('bob'));
    assert.equal(bob.status, 200, JSON.stringify(bob.body));
    const me = await bob.c.request('GET', '/api/auth/me');
    assert.equal(me.body.role, 'developer');
    assert.equal(me.body.user.email, 'bob@corp.keel.test');
    const [row] = await t.services.db.select().from(users).where(eq(users.id, me.body.user.id));
    assert.equal(row?.source, 'ldap');
    assert.equal(row?.passwordHash, null);

    const alice = await login('corp-ldaps', 'alice', pw('alice'));
    assert.equal(alice.status, 200, JSON.stringify(alice.body));
    const trusting = await save('trusting', ldapConfig({ trustEmail: true }));
    // Not a member of this organization: a trusted address does not take the account over.
    const aliceIs = eq(memberships.userId, alice.body.user.id);
    const [kept] = await t.services.db.select().from(memberships).where(aliceIs);
    await t.services.db.delete(memberships).where(aliceIs);
    const takeover = await login('trusting', 'alice', pw('alice'));
    assert.equal(takeover.status, 409, JSON.stringify(takeover.body));
    assert.equal(takeover.body.error.code, 'email_taken');
    await t.services.db.insert(memberships).values(kept!);
    const linked = await login('trusting', 'alice', pw('alice'));
    assert.equal(linked.status, 200, 'a directory whose e-mail is trusted links the existing account');
    assert.equal(linked.body.user.id, alice.body.user.id);
    assert.equal(
      (await root.request('DELETE', `/api/admin/sign-in/providers/${trusting.body.id}`)).status,
      204,
    );
    assert.equal((await login('trusting', 'alice', pw('alice'))).status, 401);
    assert.equal((await alice.c.request('GET', '/api/auth/me')).body.role, 'admin');

    // The account has no password: password sign-in does not open it.
    const byPassword = await client().request('POST', '/api/auth/login', {
      email: 'bob@corp.keel.test',
      password: pw('bob'),
    });
    assert.equal(byPassword.status, 401);
  });

  test('a wrong password and an unknown name get the same answer, after the same floor', async () => {
    const t0 = Date.now();
    const wrong = await login('corp', 'bob', 'not the password');
    const t1 = Date.now();
    const unknown = await login('corp', 'nobody-at-all', 'not the password');
    const t2 = Date.now();
    const noProvider = await login('no-such-directory', 'bob', 'x');
    assert.equal(wrong.status, 401);
    assert.deepEqual(
      [unknown.status, unknown.body.error.code, unknown.body.error.message],
      [wrong.status, wrong.body.error.code, wrong.body.error.message],
    );
    assert.deepEqual(noProvider.body.error.message, wrong.body.error.message);
    assert.ok(
      t1 - t0 >= 290 && t2 - t1 >= 290,
      `both refusals wait for the floor (${t1 - t0} ms, ${t2 - t1} ms)`,
    );
  });

  test('group changes in the directory change the role at the next sign-in', async () => {
    const first = await login('corp', 'bob', pw('bob'));
    assert.equal((await first.c.request('GET', '/api/auth/me')).body.role, 'developer');
    await slapd.modify(
      `dn: ${groupDn('admins')}\nchangetype: modify\nadd: member\nmember: ${personDn('bob')}\n`,
    );
    const second = await login('corp', 'bob', pw('bob'));
    assert.equal((await second.c.request('GET', '/api/auth/me')).body.role, 'admin');
    // The session opened under the old role reads the new one at once, as after a change in the console.
    assert.equal((await first.c.request('GET', '/api/auth/me')).body.role, 'admin');
    await slapd.modify(
      `dn: ${groupDn('admins')}\nchangetype: modify\ndelete: member\nmember: ${personDn('bob')}\n`,
    );
    const third = await login('corp', 'bob', pw('bob'));
    assert.equal((await third.c.request('GET', '/api/auth/me')).body.role, 'developer');
  });

  test('a disabled directory person is refused, and the sessions they had end', async () => {
    const carol = await login('corp', 'carol', pw('carol'));
    assert.equal(carol.status, 403);

    const dave = await login('corp', 'dave', pw('dave'));
    assert.equal(dave.status, 200);
    assert.equal((await dave.c.request('GET', '/api/auth/me')).status, 200);
    await slapd.modify(
      `dn: ${personDn('dave')}\nchangetype: modify\nadd: employeeType\nemployeeType: disabled\n`,
    );
    const again = await login('corp', 'dave', pw('dave'));
    assert.equal(again.status, 403);
    assert.equal((await dave.c.request('GET', '/api/auth/me')).status, 401, 'the open session ended at once');
  });

  test('a person removed from the directory is refused at sign-in and at the next refresh', async () => {
    const erin = await login('corp', 'erin', pw('erin'));
    assert.equal(erin.status, 200);
    assert.equal(
      (await erin.c.request('GET', '/api/auth/me')).body.role,
      'viewer',
      'no group: the default role',
    );
    await slapd.modify(`dn: ${personDn('erin')}\nchangetype: delete\n`);
    const refresh = await erin.c.request('POST', '/api/auth/refresh', {});
    assert.equal(refresh.status, 401, JSON.stringify(refresh.body));
    assert.equal((await erin.c.request('GET', '/api/auth/me')).status, 401);
    const again = await login('corp', 'erin', pw('erin'));
    assert.equal(again.status, 401);
    assert.equal(again.body.error.code, 'invalid_credentials');
  });

  test('filter metacharacters in a username match nothing', async () => {
    const corp = (await root.request('GET', '/api/admin/sign-in/providers')).body.providers.find(
      (p: any) => p.slug === 'corp',
    );
    for (const username of [
      '*',
      '*)(uid=*',
      'al*',
      'alice)(|(uid=*',
      '*)(objectClass=*))(&(uid=bob',
      'bob\\2a',
      'alice\u0000',
    ]) {
      const res = await login('corp', username, pw('alice'));
      assert.equal(res.status, 401, username);
      assert.equal(res.body.error.code, 'invalid_credentials', username);
      const probe = await root.request('POST', `/api/admin/sign-in/providers/${corp.id}/test`, { username });
      assert.equal(probe.body.ok, false, username);
      assert.equal(probe.body.error.code, 'not_found', username);
    }
  });

  test('TLS with a CA that did not sign the server is refused, for LDAPS and StartTLS', async () => {
    for (const [slug, overrides] of [
      ['wrong-ca-ldaps', { url: slapd.ldapsUrl, startTls: false, caCertificate: slapd.otherCa }],
      ['wrong-ca-starttls', { caCertificate: slapd.otherCa }],
    ] as const) {
      const saved = await save(slug, ldapConfig(overrides));
      assert.equal(saved.status, 201);
      const probe = await root.request('POST', `/api/admin/sign-in/providers/${saved.body.id}/test`, {
        username: 'alice',
      });
      assert.equal(probe.body.ok, false, slug);
      assert.equal(probe.body.error.code, 'tls_failed', slug);
      const res = await login(slug, 'alice', pw('alice'));
      assert.equal(res.status, 503, slug);
      assert.equal(res.body.error.code, 'directory_unavailable');
    }
  });

  test('an unreachable directory, and one that never answers, fail within the deadline', async () => {
    const closed = await freePort();
    const unreachable = await save('unreachable', ldapConfig({ url: `ldap://127.0.0.1:${closed}` }));
    const probe = await root.request('POST', `/api/admin/sign-in/providers/${unreachable.body.id}/test`, {
      username: 'alice',
    });
    assert.equal(probe.body.error.code, 'unreachable');

    // Accepts connections and says nothing: the provider's 1 s timeout must end the wait.
    const port = await freePort();
    silent = createServer((s) => silentSockets.push(s));
    await new Promise<void>((r) => silent!.listen(port, '127.0.0.1', r));
    for (const [slug, overrides] of [
      ['silent-starttls', { url: `ldap://127.0.0.1:${port}`, timeoutSeconds: 1 }],
      ['silent-ldaps', { url: `ldaps://127.0.0.1:${port}`, startTls: false, timeoutSeconds: 1 }],
    ] as const) {
      const saved = await save(slug, ldapConfig(overrides));
      const started = Date.now();
      const res = await root.request('POST', `/api/admin/sign-in/providers/${saved.body.id}/test`, {
        username: 'alice',
      });
      const took = Date.now() - started;
      assert.equal(res.body.ok, false);
      assert.equal(res.body.error.code, 'timeout', slug);
      assert.ok(took < 2500, `${slug} answered in ${took} ms`);
      const started2 = Date.now();
      const signIn = await login(slug, 'alice', pw('alice'));
      assert.equal(signIn.status, 503);
      assert.ok(Date.now() - started2 < 2500);
    }
  });

  test('another organization’s provider is a 404; people without signin:manage get 403', async () => {
    const [other] = await t.services.db
      .insert(organizations)
      .values({ id: newId('organization'), name: 'Elsewhere' })
      .returning();
    const [foreign] = await t.services.db
      .insert(identityProviders)
      .values({
        id: newId('identityProvider'),
        organizationId: other!.id,
        kind: 'ldap',
        name: 'Foreign',
        slug: 'foreign-directory',
        config: ldapConfig({ bindPassword: undefined }) as Record<string, unknown>,
      })
      .returning();
    const id = foreign!.id;
    assert.equal(
      (await root.request('POST', `/api/admin/sign-in/providers/${id}/test`, { username: 'a' })).status,
      404,
    );
    assert.equal((await root.request('DELETE', `/api/admin/sign-in/providers/${id}`)).status, 404);
    assert.equal((await save('foreign-directory', ldapConfig(), id)).status, 404);
    assert.equal((await root.request('DELETE', '/api/admin/sign-in/providers/idp_nonsense')).status, 404);

    // alice's account came from the other directory: this one may not take it over by e-mail
    // unless its addresses are marked as trusted.
    const elsewhere = await login('corp', 'alice', pw('alice'));
    assert.equal(elsewhere.status, 409);
    assert.equal(elsewhere.body.error.code, 'email_taken');
    const alice = await login('corp-ldaps', 'alice', pw('alice'));
    assert.equal(alice.status, 200, JSON.stringify(alice.body));
    const trusting = await save('trusting', ldapConfig({ trustEmail: true }));
    const linked = await login('trusting', 'alice', pw('alice'));
    assert.equal(linked.status, 200, 'a directory whose e-mail is trusted links the existing account');
    assert.equal(linked.body.user.id, alice.body.user.id);
    assert.equal(
      (await root.request('DELETE', `/api/admin/sign-in/providers/${trusting.body.id}`)).status,
      204,
    );
    assert.equal((await login('trusting', 'alice', pw('alice'))).status, 401);
    assert.equal((await alice.c.request('GET', '/api/auth/me')).body.role, 'admin');
    for (const [method, path, body] of [
      ['GET', '/api/admin/sign-in/providers', undefined],
      [
        'PUT',
        '/api/admin/sign-in/providers',
        { kind: 'ldap', name: 'x', slug: 'x-dir', config: ldapConfig() },
      ],
      ['DELETE', `/api/admin/sign-in/providers/${id}`, undefined],
    ] as const) {
      const res = await alice.c.request(method, path, body);
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(res.body.error.code, 'forbidden');
    }
  });

  test('an edge without the directory client (workerd) answers 501 directory_needs_node', async () => {
    const app = createApp({
      provideServices: async (c, next) => {
        c.set('services', t.services);
        await next();
      },
      clientIp: () => '10.9.9.9',
    });
    const res = await app.request('http://keel.test/api/auth/ldap/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'corp', username: 'bob', password: pw('bob') }),
    });
    assert.equal(res.status, 501);
    assert.equal(((await res.json()) as any).error.code, 'directory_needs_node');
  });

  test('the bind password and people’s passwords are in no response, log line or audit row', async () => {
    const audit = await t.services.db.select().from(auditEvents);
    const haystacks = [...seen, ...logged, JSON.stringify(audit)];
    assert.ok(seen.length > 20);
    for (const secret of [slapd.servicePassword, pw('alice'), pw('bob')]) {
      for (const text of haystacks) assert.equal(text.includes(secret), false, 'a secret leaked');
    }
  });
});
