import type { MeResponse } from '@keel/contract/auth';
import type { Workspace } from '@keel/contract/workspaces';

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
export const me: MeResponse = {
  user,
  organization,
  role: 'developer',
  installAdmin: false,
  permissions: ['workspaces:read', 'workspaces:create', 'workspaces:use', 'ai:use'],
};

export function grant(accessToken: string, expiresIn = 900) {
  return { user, accessToken, csrfToken: `csrf-${accessToken}`, expiresIn };
}

export const workspaceId = 'ws_abcdefghijklmnopqrst';

/** A workspace as the API returns it; override what a test is about. */
export function workspace(overrides: Partial<Workspace> = {}): Workspace {
  return {
    id: workspaceId,
    name: 'demo',
    organizationId: organization.id,
    ownerId: user.id,
    source: { type: 'empty' },
    resources: { cpus: 1, memoryMb: 1024 },
    network: false,
    runnerId: 'rnr_abcdefghijklmnopqrst',
    status: 'running',
    statusReason: null,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}
