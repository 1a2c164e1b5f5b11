import { z } from 'zod';
import { AuditExportQuery, AuditListQuery, AuditListResponse, AuditVerifyResponse } from '../audit.ts';
import { CreateInvitationRequest, CreateInvitationResponse, ListInvitationsResponse } from '../auth.ts';
import { HealthQuery, HealthReport } from '../health.ts';
import { CreateRunnerTokenRequest, CreateRunnerTokenResponse, ListRunnersResponse } from '../runners.ts';
import { UsageQuery, UsageReport } from '../usage.ts';
import { body, errorResponses, json, needs, noContent, userAuth } from './describe.ts';

export const OrgParams = z.object({ orgId: z.string() });
export const InvitationParams = z.object({ orgId: z.string(), invitationId: z.string() });
export const RunnerIdParam = z.object({ id: z.string().max(128) });

/** A page of the audit trail as JSON, or the same page as a CSV or JSON download (`format`). */
export const auditPage = {
  description: 'A page of events (a download with `format`)',
  content: {
    'application/json': { schema: AuditListResponse },
    'text/csv': { schema: z.string() },
  },
} as const;

const security = userAuth;

/** The usage report as JSON, or its rollup rows as a CSV download (`format=csv`). */
export const usageReport = {
  description: 'The report (a CSV download with `format=csv`)',
  content: {
    'application/json': { schema: UsageReport },
    'text/csv': { schema: z.string() },
  },
} as const;

/** The export's body: streamed, one event per line or per CSV row, never JSON as a whole. */
export const auditExport = {
  description: 'The filtered trail as a download (X-Next-Cursor when the limit cut it short)',
  content: {
    'application/x-ndjson': { schema: z.string() },
    'text/csv': { schema: z.string() },
  },
} as const;

export const adminRoutes = {
  adminAudit: {
    method: 'get',
    path: '/api/admin/audit',
    summary: 'The organization’s audit trail',
    tags: ['admin'],
    access: needs('audit:read'),
    security,
    request: { query: AuditListQuery },
    responses: { 200: auditPage, ...errorResponses },
  },
  adminAuditExport: {
    method: 'get',
    path: '/api/admin/audit/export',
    summary: 'Download the organization’s audit trail (JSON Lines or CSV)',
    tags: ['admin'],
    security,
    access: needs('audit:read'),
    request: { query: AuditExportQuery },
    responses: { 200: auditExport, ...errorResponses },
  },
  adminAuditVerify: {
    method: 'get',
    path: '/api/admin/audit/verify',
    summary: 'Check the organization’s audit chain',
    tags: ['admin'],
    access: needs('audit:read'),
    security,
    responses: { 200: json(AuditVerifyResponse, 'The verdict'), ...errorResponses },
  },
  adminUsage: {
    method: 'get',
    path: '/api/admin/usage',
    summary: 'What the organization used in a window: workspaces’ resources and AI (a CSV with `format=csv`)',
    tags: ['admin'],
    access: needs('usage:read'),
    security,
    request: { query: UsageQuery },
    responses: { 200: usageReport, ...errorResponses },
  },
  adminHealth: {
    method: 'get',
    path: '/api/admin/health',
    summary: 'Runners, servers, queues and the edges’ error rate and latency, now',
    tags: ['admin'],
    access: needs('runners:manage'),
    security,
    request: { query: HealthQuery },
    responses: { 200: json(HealthReport, 'The fleet and the edges at a glance'), ...errorResponses },
  },
  createRunnerToken: {
    method: 'post',
    path: '/api/admin/runner-tokens',
    summary: 'A registration token for a new runner, shown once',
    tags: ['admin'],
    access: needs('runners:manage'),
    security,
    request: { body: body(CreateRunnerTokenRequest) },
    responses: { 201: json(CreateRunnerTokenResponse, 'Created'), ...errorResponses },
  },
  listRunners: {
    method: 'get',
    path: '/api/admin/runners',
    summary: 'The organization’s runners and the shared ones',
    tags: ['admin'],
    access: needs('runners:manage'),
    security,
    responses: { 200: json(ListRunnersResponse, 'Runners, newest first'), ...errorResponses },
  },
  revokeRunner: {
    method: 'delete',
    path: '/api/admin/runners/{id}',
    summary: 'Revoke one of the organization’s runners',
    tags: ['admin'],
    access: needs('runners:manage'),
    security,
    request: { params: RunnerIdParam },
    responses: { 204: noContent, ...errorResponses },
  },
  createInvitation: {
    method: 'post',
    path: '/api/orgs/{orgId}/invitations',
    summary: 'Invite someone to the organization (the token is shown once)',
    tags: ['admin'],
    access: needs('members:manage'),
    security,
    request: { params: OrgParams, body: body(CreateInvitationRequest) },
    responses: { 201: json(CreateInvitationResponse, 'Created'), ...errorResponses },
  },
  listInvitations: {
    method: 'get',
    path: '/api/orgs/{orgId}/invitations',
    summary: 'The organization’s invitations',
    tags: ['admin'],
    access: needs('members:manage'),
    security,
    request: { params: OrgParams },
    responses: { 200: json(ListInvitationsResponse, 'Invitations'), ...errorResponses },
  },
  revokeInvitation: {
    method: 'delete',
    path: '/api/orgs/{orgId}/invitations/{invitationId}',
    summary: 'Withdraw an invitation',
    tags: ['admin'],
    access: needs('members:manage'),
    security,
    request: { params: InvitationParams },
    responses: { 204: noContent, ...errorResponses },
  },
} as const;
