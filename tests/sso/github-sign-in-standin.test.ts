/**
 * GitHub sign-in against a stand-in of GitHub's OAuth and REST endpoints (GitHub itself cannot
 * be reached here; see tests/harness/github-standin.ts): the verified primary address, required
 * organizations, and teams mapped to roles. Real PostgreSQL and Redis.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { users } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { BrowserClient } from '../harness/browser-client.ts';
import { type GitHubStandin, startGitHubStandin } from '../harness/github-standin.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';

const CLIENT = { clientId: 'Iv1.keelstandin', clientSecret: 'github-standin-secret-0123456789' };

describe('GitHub sign-in against a GitHub stand-in', () => {
  let t: TestApp;
  let github: GitHubStandin;
  let root: BrowserClient;
  const seen: string[] = [];
  const client = () =>
    new BrowserClient((path, init) =>
      t.fetch(path, init).then(async (res) => {
        seen.push(await res.clone().text(), JSON.stringify([...res.headers]));
        return res;
      }),
    );

  const save = (slug: string, config: Record<string, unknown>) =>
    root.request('PUT', '/api/admin/sign-in/providers', {
      kind: 'github',
      name: `GitHub ${slug}`,
      slug,
      config: { webUrl: github.url, apiUrl: github.url, insecure: true, ...CLIENT, ...config },
    });

  async function signIn(slug: string, login: string) {
    const c = client();
    github.nextLogin = login;
    const start = await c.request('GET', `/api/auth/sso/${slug}/start`);
    assert.equal(start.status, 302, JSON.stringify(start.body));
    const authorize = new URL(start.headers.get('location')!);
    assert.equal(`${authorize.origin}${authorize.pathname}`, `${github.url}/login/oauth/authorize`);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    const back = await fetch(authorize, { redirect: 'manual' });
    const callback = new URL(back.headers.get('location')!);
    const done = await c.request('GET', callback.pathname + callback.search);
    assert.equal(done.status, 302);
    return { c, location: done.headers.get('location')! };
  }

  before(async () => {
    github = await startGitHubStandin(CLIENT);
    t = await createTestApp({ database: 'postgres', env: { KEEL_LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } });
    root = client();
    assert.equal(
      (
        await root.request('POST', '/api/auth/signup', {
          email: 'root@example.com',
          password: 'correct horse battery staple',
          name: 'Root',
        })
      ).status,
      201,
    );
    github.users.set('octo', {
      id: 583231,
      login: 'octo',
      name: 'Octo Cat',
      emails: [
        { email: 'octo@users.noreply.github.test', primary: false, verified: true },
        { email: 'Octo@Example.com', primary: true, verified: true },
      ],
      orgs: ['keel-dev'],
      teams: ['keel-dev/platform', 'other/readers'],
    });
    github.users.set('stranger', {
      id: 1,
      login: 'stranger',
      name: null,
      emails: [{ email: 'stranger@example.com', primary: true, verified: true }],
      orgs: ['elsewhere'],
      teams: [],
    });
    github.users.set('unverified', {
      id: 2,
      login: 'unverified',
      name: null,
      emails: [{ email: 'u@example.com', primary: true, verified: false }],
      orgs: ['keel-dev'],
      teams: [],
    });
    const saved = await save('github', {
      requiredOrganizations: ['Keel-Dev'],
      groupRoleMap: [{ group: 'keel-dev/platform', role: 'admin' }],
    });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
  });

  after(async () => {
    await t?.close();
    await github?.stop();
  });

  test('a member of the required organization signs in with the verified primary address and the team’s role', async () => {
    const { c, location } = await signIn('github', 'octo');
    assert.equal(location, '/');
    const me = await c.request('GET', '/api/auth/me');
    assert.equal(me.body.user.email, 'octo@example.com');
    assert.equal(me.body.user.name, 'Octo Cat');
    assert.equal(me.body.role, 'admin');
    const [row] = await t.services.db.select().from(users).where(eq(users.id, me.body.user.id));
    assert.equal(row?.source, 'github');
    assert.equal(row?.passwordHash, null);
  });

  test('outside the required organizations, or without a verified primary address, is refused', async () => {
    assert.equal((await signIn('github', 'stranger')).location, '/sign-in?sso_error=organization_required');
    assert.equal((await signIn('github', 'unverified')).location, '/sign-in?sso_error=email_unverified');
  });

  test('a wrong client secret is refused at the code exchange', async () => {
    const saved = await save('github-wrong', { clientSecret: 'not-the-secret-at-all' });
    assert.equal(saved.status, 201);
    assert.equal((await signIn('github-wrong', 'octo')).location, '/sign-in?sso_error=token_rejected');
  });

  test('the client secret appears in no response', () => {
    for (const text of seen) assert.equal(text.includes(CLIENT.clientSecret), false);
  });
});
