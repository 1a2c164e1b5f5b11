import { z } from 'zod';
import { AuditListQuery, AuditVerifyResponse } from '../audit.ts';
import {
  GrantInstallAdminRequest,
  InstallAdmin,
  InstallSettingsResponse,
  ListInstallAdminsResponse,
  UpdateInstallSettingsRequest,
} from '../install.ts';
import { CreateRunnerTokenRequest, CreateRunnerTokenResponse, ListRunnersResponse } from '../runners.ts';
import { auditPage, RunnerIdParam } from './admin.ts';
import { body, errorResponses, installAdminAccess, json, noContent, userAuth } from './describe.ts';

export const GrantInstallAdminResponse = z.object({ admin: InstallAdmin });
export const InstallAdminParams = z.object({ userId: z.string().max(128) });

const tags = ['install'];
const security = userAuth;

export const installRoutes = {
  installSettings: {
    method: 'get',
    path: '/api/install/settings',
    summary: 'The install’s settings',
    tags,
    access: installAdminAccess,
    security,
    responses: { 200: json(InstallSettingsResponse, 'Settings'), ...errorResponses },
  },
  updateInstallSettings: {
    method: 'put',
    path: '/api/install/settings',
    summary: 'Replace the fields given',
    tags,
    access: installAdminAccess,
    security,
    request: { body: body(UpdateInstallSettingsRequest) },
    responses: { 200: json(InstallSettingsResponse, 'Settings now'), ...errorResponses },
  },
  listInstallAdmins: {
    method: 'get',
    path: '/api/install/admins',
    summary: 'Install administrators',
    tags,
    access: installAdminAccess,
    security,
    responses: { 200: json(ListInstallAdminsResponse, 'Administrators'), ...errorResponses },
  },
  grantInstallAdmin: {
    method: 'post',
    path: '/api/install/admins',
    summary: 'Make an account an install administrator',
    tags,
    access: installAdminAccess,
    security,
    request: { body: body(GrantInstallAdminRequest) },
    responses: {
      200: json(GrantInstallAdminResponse, 'Already one'),
      201: json(GrantInstallAdminResponse, 'Granted'),
      ...errorResponses,
    },
  },
  revokeInstallAdmin: {
    method: 'delete',
    path: '/api/install/admins/{userId}',
    summary: 'Take the grant back (never the last one)',
    tags,
    access: installAdminAccess,
    security,
    request: { params: InstallAdminParams },
    responses: { 204: noContent, ...errorResponses },
  },
  listSharedRunners: {
    method: 'get',
    path: '/api/install/runners',
    summary: 'Shared runners',
    tags,
    access: installAdminAccess,
    security,
    responses: { 200: json(ListRunnersResponse, 'Runners'), ...errorResponses },
  },
  createSharedRunnerToken: {
    method: 'post',
    path: '/api/install/runner-tokens',
    summary: 'A registration token for a shared runner, shown once',
    tags,
    access: installAdminAccess,
    security,
    request: { body: body(CreateRunnerTokenRequest) },
    responses: { 201: json(CreateRunnerTokenResponse, 'Created'), ...errorResponses },
  },
  revokeSharedRunner: {
    method: 'delete',
    path: '/api/install/runners/{id}',
    summary: 'Revoke a shared runner',
    tags,
    access: installAdminAccess,
    security,
    request: { params: RunnerIdParam },
    responses: { 204: noContent, ...errorResponses },
  },
  installAudit: {
    method: 'get',
    path: '/api/install/audit',
    summary: 'The install’s own audit chain',
    tags,
    access: installAdminAccess,
    security,
    request: { query: AuditListQuery },
    responses: { 200: auditPage, ...errorResponses },
  },
  installAuditVerify: {
    method: 'get',
    path: '/api/install/audit/verify',
    summary: 'Check the install’s audit chain',
    tags,
    access: installAdminAccess,
    security,
    responses: { 200: json(AuditVerifyResponse, 'The verdict'), ...errorResponses },
  },
} as const;
