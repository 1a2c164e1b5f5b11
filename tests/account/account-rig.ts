import assert from 'node:assert/strict';
import type { Role } from '@keel/contract/auth';
import { memberships, organizations, users } from '@keel/drizzle/schema';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { newId } from '../../edge/src/ids.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';

export const PASSWORD = 'correct horse battery staple';

/** One organization (A) with a person per role, and another organization (B) with its own admin. */
export interface AccountRig {
  t: TestApp;
  orgA: string;
  orgB: string;
  /** Signs in as the person with this e-mail (a new session each time). */
  signIn(email: string, userAgent?: string): Promise<BrowserClient>;
  /** Adds a person with a role in an organization; returns their user id. */
  addPerson(email: string, orgId: string, role: Role): Promise<string>;
  close(): Promise<void>;
}

export async function startAccountRig(env: Record<string, string> = {}): Promise<AccountRig> {
  const t = await createTestApp({
    database: 'postgres',
    env: { KEEL_LOGIN_RATE_LIMIT_PER_MINUTE: '200', ...env },
  });
  const root = new BrowserClient(t.fetch);
  const signup = await root.request('POST', '/api/auth/signup', {
    email: 'root@example.com',
    password: PASSWORD,
    name: 'Root',
  });
  assert.equal(signup.status, 201, JSON.stringify(signup.body));
  const orgA = signup.body.organization.id as string;
  const orgB = newId('organization');
  const now = new Date();
  await t.services.db.insert(organizations).values({ id: orgB, name: 'Other', createdAt: now });
  // One argon2 hash for everyone: each costs about 0.3 s.
  const passwordHash = await hashPassword(PASSWORD);

  const addPerson = async (email: string, orgId: string, role: Role) => {
    const id = newId('user');
    await t.services.db
      .insert(users)
      .values({ id, email, name: email.split('@')[0]!, passwordHash, createdAt: now });
    await t.services.db
      .insert(memberships)
      .values({ userId: id, organizationId: orgId, role, createdAt: now });
    return id;
  };
  const signIn = async (email: string, userAgent?: string) => {
    const client = new BrowserClient(t.fetch);
    const res = await client.request(
      'POST',
      '/api/auth/login',
      { email, password: PASSWORD },
      userAgent ? { headers: { 'user-agent': userAgent } } : {},
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return client;
  };
  return { t, orgA, orgB, signIn, addPerson, close: () => t.close() };
}

/** Asserts an error answer: status, the error body's code, a message and request id. */
export function assertError(res: { status: number; body: any }, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body?.error?.code, code, JSON.stringify(res.body));
  assert.equal(typeof res.body.error.message, 'string');
  assert.equal(typeof res.body.error.requestId, 'string');
}
