import { adminRoutes } from '@keel/contract/api/admin';
import { memberRoutes } from '@keel/contract/api/members';
import type { CreateInvitationResponse, Invitation, Role } from '@keel/contract/auth';
import type {
  BulkInvitationResponse,
  ListMembersResponse,
  Member,
  RemoveMemberRequest,
  RemoveMemberResponse,
} from '@keel/contract/members';
import { callRoute } from '../api/call-route.ts';
import type { ApiClient } from '../api/client.ts';

export interface MemberFilter {
  q?: string | undefined;
  role?: Role | undefined;
  cursor?: string | undefined;
}

/** The organization's people and invitations, for the admin console's Members and Invitations pages. */
export interface MembersApi {
  list(filter: MemberFilter): Promise<ListMembersResponse>;
  changeRole(userId: string, role: Role): Promise<Member>;
  disable(userId: string): Promise<Member>;
  enable(userId: string): Promise<Member>;
  remove(userId: string, how: RemoveMemberRequest): Promise<RemoveMemberResponse>;
  invitations(orgId: string): Promise<Invitation[]>;
  invite(orgId: string, input: { email?: string; role: Role }): Promise<CreateInvitationResponse>;
  inviteMany(orgId: string, input: { emails: string[]; role: Role }): Promise<BulkInvitationResponse>;
  revokeInvitation(orgId: string, invitationId: string): Promise<void>;
}

export function createMembersApi(client: ApiClient): MembersApi {
  return {
    list: (filter) =>
      callRoute(client, memberRoutes.listMembers, {
        query: { q: filter.q || undefined, role: filter.role, cursor: filter.cursor, limit: 50 },
      }),
    changeRole: async (userId, role) =>
      (await callRoute(client, memberRoutes.changeMemberRole, { params: { userId }, body: { role } })).member,
    disable: async (userId) =>
      (await callRoute(client, memberRoutes.disableMember, { params: { userId } })).member,
    enable: async (userId) =>
      (await callRoute(client, memberRoutes.enableMember, { params: { userId } })).member,
    remove: (userId, how) => callRoute(client, memberRoutes.removeMember, { params: { userId }, body: how }),
    invitations: async (orgId) =>
      (await callRoute(client, adminRoutes.listInvitations, { params: { orgId } })).invitations,
    invite: (orgId, input) =>
      callRoute(client, adminRoutes.createInvitation, { params: { orgId }, body: input }),
    inviteMany: (orgId, input) =>
      callRoute(client, memberRoutes.bulkInvitations, { params: { orgId }, body: input }),
    async revokeInvitation(orgId, invitationId) {
      await callRoute(client, adminRoutes.revokeInvitation, { params: { orgId, invitationId } });
    },
  };
}

export const ROLE_LABELS: Record<Role, string> = {
  viewer: 'Viewer',
  developer: 'Developer',
  admin: 'Admin',
  super_admin: 'Super admin',
};

/** Addresses pasted as a list: one a line, or separated by commas, semicolons or spaces. */
export function splitAddresses(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
