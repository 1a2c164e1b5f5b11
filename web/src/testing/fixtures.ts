import type { MeResponse } from '@keel/contract/auth';

/** Ids must match the contract's prefixed format, or the client's response validation rejects them. */
export const user = {
  id: 'usr_abcdefghijklmnopqrst',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  createdAt: '2025-01-01T00:00:00.000Z',
};
export const organization = {
  id: 'org_abcdefghijklmnopqrst',
  name: 'Analytical Engines',
  createdAt: '2025-01-01T00:00:00.000Z',
};
export const me: MeResponse = { user, organization, role: 'developer' };

export function grant(accessToken: string, expiresIn = 900) {
  return { user, accessToken, csrfToken: `csrf-${accessToken}`, expiresIn };
}
