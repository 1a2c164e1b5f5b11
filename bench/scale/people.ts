import { randomBytes } from 'node:crypto';
import { ApiClient, mapLimit } from './api.ts';

/** A person the test made: signed up through an invitation, working with a personal access token. */
export interface ScalePerson {
  email: string;
  api: ApiClient;
}

const PASSWORD = 'scale test password 1';
/** What a developer's script needs: its workspaces, and work in them. */
const PERMISSIONS = ['workspaces:read', 'workspaces:create', 'workspaces:use'];

/**
 * Makes `count` people through the API as an organization would: the administrator invites
 * each, they sign up with the invitation, and each mints a personal access token.
 */
export async function createPeople(admin: ApiClient, count: number, concurrency = 8): Promise<ScalePerson[]> {
  const me = await admin.call<{ organization: { id: string } }>('GET', '/api/auth/me');
  const orgId = me.organization.id;
  // A run's own names: runs against the same Keel never collide.
  const run = randomBytes(4).toString('hex');
  return mapLimit(Array.from({ length: count }), concurrency, async (_, i) => {
    const invite = await admin.call<{ token: string }>('POST', `/api/orgs/${orgId}/invitations`, {
      role: 'developer',
    });
    const email = `scale-${run}-${i}@example.com`;
    const signup = await signUp(admin.base, {
      email,
      password: PASSWORD,
      name: `Scale ${i}`,
      inviteToken: invite.token,
    });
    const session = (await signup.json()) as { accessToken?: string };
    if (signup.status !== 201 || !session.accessToken)
      throw new Error(`signup of ${email}: HTTP ${signup.status} ${JSON.stringify(session)}`);
    const minted = await new ApiClient(admin.base, session.accessToken).call<{ token: string }>(
      'POST',
      '/api/account/tokens',
      { name: 'scale test', permissions: PERMISSIONS, expiresInDays: 1 },
    );
    return { email, api: new ApiClient(admin.base, minted.token) };
  });
}

/** Sign-ups from one address are limited (KEEL_LOGIN_RATE_LIMIT_PER_MINUTE): a refused one waits as told. */
async function signUp(base: string, body: Record<string, string>): Promise<Response> {
  for (;;) {
    const res = await fetch(new URL('/api/auth/signup', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status !== 429) return res;
    await res.body?.cancel();
    const wait = Number(res.headers.get('retry-after')) || 5;
    await new Promise((r) => setTimeout(r, wait * 1000));
  }
}
