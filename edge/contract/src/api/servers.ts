import { z } from 'zod';
import {
  AssignedServersResponse,
  ConfirmHostKeyRequest,
  CreateServerRequest,
  ListPlaceableServersResponse,
  ListServersResponse,
  ServerAccess,
  ServerAccessQuery,
  ServerResponse,
  TestServerResponse,
  UpdateServerRequest,
} from '../servers.ts';
import { body, errorResponses, json, noContent, runnerAuth, userAuth } from './describe.ts';

export const ServerIdParam = z.object({ id: z.string().max(128) });

const tags = ['servers'];
const security = userAuth;

/** Admins' routes (`servers:manage`) and the one the assigned runner fetches a server's access from. */
export const serverRoutes = {
  listServers: {
    method: 'get',
    path: '/api/admin/servers',
    summary: 'The organization’s infrastructure servers, with their last test and live resources',
    tags,
    security,
    responses: { 200: json(ListServersResponse, 'Servers, by name'), ...errorResponses },
  },
  createServer: {
    method: 'post',
    path: '/api/admin/servers',
    summary: 'Register a server; its secrets are sealed and never shown again',
    tags,
    security,
    request: { body: body(CreateServerRequest) },
    responses: { 201: json(ServerResponse, 'Registered'), ...errorResponses },
  },
  getServer: {
    method: 'get',
    path: '/api/admin/servers/{id}',
    summary: 'One server',
    tags,
    security,
    request: { params: ServerIdParam },
    responses: { 200: json(ServerResponse, 'The server'), ...errorResponses },
  },
  updateServer: {
    method: 'patch',
    path: '/api/admin/servers/{id}',
    summary: 'Change a server (a secret sent replaces the sealed one)',
    tags,
    security,
    request: { params: ServerIdParam, body: body(UpdateServerRequest) },
    responses: { 200: json(ServerResponse, 'Changed'), ...errorResponses },
  },
  deleteServer: {
    method: 'delete',
    path: '/api/admin/servers/{id}',
    summary: 'Remove a server that no workspace lives on',
    tags,
    security,
    request: { params: ServerIdParam },
    responses: { 204: noContent, ...errorResponses },
  },
  testServer: {
    method: 'post',
    path: '/api/admin/servers/{id}/test',
    summary: 'Test the connection from the assigned runner: reachability, credentials, host key, resources',
    tags,
    security,
    request: { params: ServerIdParam },
    responses: { 200: json(TestServerResponse, 'The result, passed or failed'), ...errorResponses },
  },
  confirmServerHostKey: {
    method: 'post',
    path: '/api/admin/servers/{id}/host-key',
    summary: 'Pin the SSH host key the last test offered',
    tags,
    security,
    request: { params: ServerIdParam, body: body(ConfirmHostKeyRequest) },
    responses: { 200: json(ServerResponse, 'Pinned'), ...errorResponses },
  },
  listPlaceableServers: {
    method: 'get',
    path: '/api/servers',
    summary: 'Servers a new workspace may be placed on',
    tags: ['workspaces'],
    security,
    responses: { 200: json(ListPlaceableServersResponse, 'Placeable servers, by name'), ...errorResponses },
  },
  runnerServers: {
    method: 'get',
    path: '/api/runners/servers',
    summary: 'The servers assigned to the calling runner',
    tags: ['runners'],
    security: runnerAuth,
    responses: { 200: json(AssignedServersResponse, 'Assigned servers'), ...errorResponses },
  },
  runnerServerAccess: {
    method: 'get',
    path: '/api/runners/servers/{id}/access',
    summary: 'A server’s connection with its secrets, for the runner it is assigned to (audited)',
    tags: ['runners'],
    security: runnerAuth,
    request: { params: ServerIdParam, query: ServerAccessQuery },
    responses: { 200: json(z.object({ access: ServerAccess }), 'The access'), ...errorResponses },
  },
} as const;
