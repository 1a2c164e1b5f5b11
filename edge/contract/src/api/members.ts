import {
  BulkInvitationRequest,
  BulkInvitationResponse,
  ChangeRoleRequest,
  ListMembersQuery,
  ListMembersResponse,
  MemberParams,
  MemberResponse,
  RemoveMemberRequest,
  RemoveMemberResponse,
} from '../members.ts';
import type { RouteAccess } from '../permissions.ts';
import { OrgParams } from './admin.ts';
import { body, errorResponses, json, userAuth } from './describe.ts';

const security = userAuth;
/** Changing, disabling or removing a super_admin, or making one, also needs `signin:manage`. */
const access: RouteAccess = { kind: 'permission', permission: 'members:manage' };

/** The admin console's Members page, and invitations in bulk. */
export const memberRoutes = {
  listMembers: {
    method: 'get',
    path: '/api/admin/members',
    summary: 'The organization’s members: role, source, last sign-in, disabled (filter by text and role)',
    tags: ['admin'],
    security,
    access,
    request: { query: ListMembersQuery },
    responses: { 200: json(ListMembersResponse, 'A page of members, by name'), ...errorResponses },
  },
  changeMemberRole: {
    method: 'patch',
    path: '/api/admin/members/{userId}',
    summary: 'Change a member’s role (at most the caller’s own; the last super_admin stays)',
    tags: ['admin'],
    security,
    access,
    request: { params: MemberParams, body: body(ChangeRoleRequest) },
    responses: { 200: json(MemberResponse, 'The member as they now stand'), ...errorResponses },
  },
  disableMember: {
    method: 'post',
    path: '/api/admin/members/{userId}/disable',
    summary: 'Disable a member: their sessions and access tokens end at once',
    tags: ['admin'],
    security,
    access,
    request: { params: MemberParams },
    responses: { 200: json(MemberResponse, 'The member, disabled'), ...errorResponses },
  },
  enableMember: {
    method: 'post',
    path: '/api/admin/members/{userId}/enable',
    summary: 'Enable a disabled member again (they sign in anew)',
    tags: ['admin'],
    security,
    access,
    request: { params: MemberParams },
    responses: { 200: json(MemberResponse, 'The member, enabled'), ...errorResponses },
  },
  removeMember: {
    method: 'delete',
    path: '/api/admin/members/{userId}',
    summary: 'Remove a member: sessions and tokens end; workspaces handed to an admin or deleted',
    tags: ['admin'],
    security,
    access,
    request: { params: MemberParams, body: body(RemoveMemberRequest) },
    responses: { 200: json(RemoveMemberResponse, 'Removed'), ...errorResponses },
  },
  bulkInvitations: {
    method: 'post',
    path: '/api/orgs/{orgId}/invitations/bulk',
    summary: 'Invite a list of addresses (each checked; duplicates and members reported, not failed)',
    tags: ['admin'],
    security,
    access,
    request: { params: OrgParams, body: body(BulkInvitationRequest) },
    responses: { 201: json(BulkInvitationResponse, 'Who was invited and who was not'), ...errorResponses },
  },
} as const;
