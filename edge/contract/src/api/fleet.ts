import { z } from 'zod';
import {
  DrainRequest,
  DrainResponse,
  HandoffRequest,
  HandoffResponse,
  PlacementsCheckRequest,
  PlacementsCheckResponse,
} from '../fleet.ts';
import {
  body,
  errorResponses,
  installAdminAccess,
  json,
  needs,
  runnerAccess,
  runnerAuth,
  userAuth,
} from './describe.ts';

const tags = ['fleet'];
const IdParam = z.object({ id: z.string().max(128) });

export const fleetRoutes = {
  placementsCheck: {
    method: 'post',
    path: '/api/runners/placements/check',
    summary: 'Which of the workspaces a runner holds moved away (remove them)',
    tags,
    access: runnerAccess,
    security: runnerAuth,
    request: { body: body(PlacementsCheckRequest) },
    responses: { 200: json(PlacementsCheckResponse, 'The stale ones'), ...errorResponses },
  },
  handoff: {
    method: 'post',
    path: '/api/runners/workspaces/{id}/handoff',
    summary: 'A runner hands a stopped, saved workspace over to where it moves',
    tags,
    access: runnerAccess,
    security: runnerAuth,
    request: { params: IdParam, body: body(HandoffRequest) },
    responses: { 200: json(HandoffResponse, 'Moved, or not (then keep it)'), ...errorResponses },
  },
  drainRunner: {
    method: 'post',
    path: '/api/admin/runners/{id}/drain',
    summary: 'Drain a runner of the organization: no new workspaces, its workspaces move away',
    tags,
    access: needs('runners:manage'),
    security: userAuth,
    request: { params: IdParam, body: body(DrainRequest) },
    responses: { 200: json(DrainResponse, 'Draining, or not'), ...errorResponses },
  },
  drainSharedRunner: {
    method: 'post',
    path: '/api/install/runners/{id}/drain',
    summary: 'Drain a shared runner (install administrators)',
    tags,
    access: installAdminAccess,
    security: userAuth,
    request: { params: IdParam, body: body(DrainRequest) },
    responses: { 200: json(DrainResponse, 'Draining, or not'), ...errorResponses },
  },
  drainServer: {
    method: 'post',
    path: '/api/admin/servers/{id}/drain',
    summary: 'Drain a server: closed to new workspaces, its workspaces move away',
    tags,
    access: needs('servers:manage'),
    security: userAuth,
    request: { params: IdParam, body: body(DrainRequest) },
    responses: { 200: json(DrainResponse, 'Draining, or not'), ...errorResponses },
  },
} as const;
