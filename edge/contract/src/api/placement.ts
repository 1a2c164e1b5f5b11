import {
  AdminPlaceRequest,
  OrgPlacementPolicyResponse,
  UpdateOrgPlacementPolicyRequest,
  WorkspacePlacementResponse,
} from '../placement.ts';
import { WorkspaceIdParam } from '../workspaces.ts';
import { body, errorResponses, json, needs, userAuth } from './describe.ts';
import { WorkspaceAccepted } from './workspaces.ts';

const tags = ['placement'];
const security = userAuth;

export const placementRoutes = {
  workspacePlacement: {
    method: 'get',
    path: '/api/workspaces/{id}/placement',
    summary: 'Where the workspace runs, by which policy, and which candidates were refused and why',
    tags,
    access: needs('workspaces:read'),
    security,
    request: { params: WorkspaceIdParam },
    responses: {
      200: json(WorkspacePlacementResponse, 'The current decision and earlier ones'),
      ...errorResponses,
    },
  },
  getPlacementPolicy: {
    method: 'get',
    path: '/api/admin/placement-policy',
    summary: 'The organization’s placement policy',
    tags,
    access: needs('settings:manage'),
    security,
    responses: { 200: json(OrgPlacementPolicyResponse, 'The policy'), ...errorResponses },
  },
  updatePlacementPolicy: {
    method: 'put',
    path: '/api/admin/placement-policy',
    summary: 'Set the organization’s placement policy (null: the install’s default)',
    tags,
    access: needs('settings:manage'),
    security,
    request: { body: body(UpdateOrgPlacementPolicyRequest) },
    responses: { 200: json(OrgPlacementPolicyResponse, 'Changed'), ...errorResponses },
  },
  adminPlaceWorkspace: {
    method: 'post',
    path: '/api/admin/workspaces/{id}/place',
    summary: 'Move a workspace to a runner or server (stop, snapshot, restore there, start)',
    tags,
    access: needs('runners:manage'),
    security,
    request: { params: WorkspaceIdParam, body: body(AdminPlaceRequest) },
    responses: {
      202: json(WorkspaceAccepted, 'Accepted; it shows relocating until it is there'),
      ...errorResponses,
    },
  },
} as const;
