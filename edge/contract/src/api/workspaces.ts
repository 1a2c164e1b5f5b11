import { z } from 'zod';
import {
  DeleteFileQuery,
  FileTreeResponse,
  MakeDirectoryRequest,
  MakeDirectoryResponse,
  RenameFileRequest,
  RenameFileResponse,
} from '../files.ts';
import { WorkspacePolicyResponse } from '../install.ts';
import { LspQuery } from '../lsp.ts';
import { TerminalQuery } from '../terminal.ts';
import {
  CreateWorkspaceRequest,
  ExecuteRequest,
  FileEncoding,
  LogLine,
  WorkspaceFilePath,
  WorkspaceIdParam,
  WorkspacePath,
  WorkspaceStatus,
  WorkspaceStatusResponse,
  Workspace as WorkspaceView,
  WriteFileRequest,
} from '../workspaces.ts';
import { body, errorResponses, eventStream, json, needs, noContent, userAuth } from './describe.ts';

export const WorkspaceListResponse = z.object({ workspaces: z.array(WorkspaceView) });
export const WorkspaceLogsResponse = z.object({ lines: z.array(LogLine) });
/** A lifecycle change or a delete, accepted: the status the workspace shows until the runner is done. */
export const WorkspaceAccepted = z.object({ id: z.string(), status: WorkspaceStatus });
export const ExecuteAccepted = z.object({ executionId: z.string() });
export const ExecutionCancelAccepted = z.object({ executionId: z.string(), cancelling: z.literal(true) });
export const ExecutionParams = z.object({ id: z.string(), executionId: z.string() });
export const FilePathQuery = z.object({ path: WorkspacePath.default('') });
export const RequiredFilePathQuery = z.object({ path: WorkspaceFilePath });
export const FileContentResponse = z.object({
  path: z.string(),
  content: z.string(),
  encoding: FileEncoding,
  sha256: z.string(),
  size: z.number(),
});
export const WriteFileResponse = z.object({ path: z.string(), sha256: z.string(), size: z.number() });

const security = userAuth;
const params = WorkspaceIdParam;

function lifecycle(action: 'start' | 'stop' | 'restart') {
  return {
    method: 'post',
    path: `/api/workspaces/{id}/${action}`,
    summary: `${action[0]?.toUpperCase()}${action.slice(1)} a workspace`,
    tags: ['workspaces'],
    access: needs('workspaces:use'),
    security,
    request: { params },
    responses: { 202: json(WorkspaceAccepted, 'Accepted; the runner carries it out'), ...errorResponses },
  } as const;
}

export const workspaceRoutes = {
  createWorkspace: {
    method: 'post',
    path: '/api/workspaces',
    summary: 'Create a workspace on a runner',
    tags: ['workspaces'],
    access: needs('workspaces:create'),
    security,
    request: { body: body(CreateWorkspaceRequest) },
    responses: { 201: json(WorkspaceView, 'Created'), ...errorResponses },
  },
  listWorkspaces: {
    method: 'get',
    path: '/api/workspaces',
    summary: 'Workspaces the caller may see',
    tags: ['workspaces'],
    access: needs('workspaces:read'),
    security,
    responses: { 200: json(WorkspaceListResponse, 'The workspaces, newest first'), ...errorResponses },
  },
  workspacePolicy: {
    method: 'get',
    path: '/api/workspaces/policy',
    summary: 'What the create form may offer',
    tags: ['workspaces'],
    access: needs('workspaces:read'),
    security,
    responses: { 200: json(WorkspacePolicyResponse, 'Network policy and maxima'), ...errorResponses },
  },
  getWorkspace: {
    method: 'get',
    path: '/api/workspaces/{id}',
    summary: 'One workspace',
    tags: ['workspaces'],
    access: needs('workspaces:read'),
    security,
    request: { params },
    responses: { 200: json(WorkspaceView, 'The workspace'), ...errorResponses },
  },
  workspaceStatus: {
    method: 'get',
    path: '/api/workspaces/{id}/status',
    summary: 'A workspace’s live status',
    tags: ['workspaces'],
    access: needs('workspaces:read'),
    security,
    request: { params },
    responses: { 200: json(WorkspaceStatusResponse, 'The status'), ...errorResponses },
  },
  workspaceLogs: {
    method: 'get',
    path: '/api/workspaces/{id}/logs',
    summary: 'Lifecycle and clone progress lines',
    tags: ['workspaces'],
    access: needs('workspaces:read'),
    security,
    request: { params },
    responses: { 200: json(WorkspaceLogsResponse, 'Lines, oldest first'), ...errorResponses },
  },
  workspaceLogEvents: {
    method: 'get',
    path: '/api/workspaces/{id}/logs/events',
    summary: 'Lifecycle and clone progress lines, followed live as Server-Sent Events',
    tags: ['workspaces'],
    access: needs('workspaces:read'),
    security,
    request: { params },
    responses: { 200: eventStream, ...errorResponses },
  },
  startWorkspace: lifecycle('start'),
  stopWorkspace: lifecycle('stop'),
  restartWorkspace: lifecycle('restart'),
  deleteWorkspace: {
    method: 'delete',
    path: '/api/workspaces/{id}',
    summary: 'Delete a workspace',
    tags: ['workspaces'],
    access: needs('workspaces:use'),
    security,
    request: { params },
    responses: {
      202: json(WorkspaceAccepted, 'Accepted; it shows `deleting` until removed'),
      ...errorResponses,
    },
  },
  fileTree: {
    method: 'get',
    path: '/api/workspaces/{id}/files/tree',
    summary: 'One folder of the workspace',
    tags: ['files'],
    access: needs('workspaces:read'),
    security,
    request: { params, query: FilePathQuery },
    responses: { 200: json(FileTreeResponse, 'The folder’s entries'), ...errorResponses },
  },
  readFile: {
    method: 'get',
    path: '/api/workspaces/{id}/files',
    summary: 'A file’s content (UTF-8 text, or base64)',
    tags: ['files'],
    access: needs('workspaces:read'),
    security,
    request: { params, query: RequiredFilePathQuery },
    responses: { 200: json(FileContentResponse, 'The file'), ...errorResponses },
  },
  readRawFile: {
    method: 'get',
    path: '/api/workspaces/{id}/files/raw',
    summary: 'A file’s bytes, as a download',
    tags: ['files'],
    access: needs('workspaces:read'),
    security,
    request: { params, query: RequiredFilePathQuery },
    responses: {
      200: { description: 'The bytes', content: { 'application/octet-stream': { schema: z.string() } } },
      ...errorResponses,
    },
  },
  writeFile: {
    method: 'put',
    path: '/api/workspaces/{id}/files',
    summary: 'Write a file (optionally only over a known version)',
    tags: ['files'],
    access: needs('workspaces:use'),
    security,
    request: { params, query: RequiredFilePathQuery, body: body(WriteFileRequest) },
    responses: { 200: json(WriteFileResponse, 'Written'), ...errorResponses },
  },
  renameFile: {
    method: 'post',
    path: '/api/workspaces/{id}/files/rename',
    summary: 'Rename or move a file or folder',
    tags: ['files'],
    access: needs('workspaces:use'),
    security,
    request: { params, body: body(RenameFileRequest) },
    responses: { 200: json(RenameFileResponse, 'Renamed'), ...errorResponses },
  },
  deleteFile: {
    method: 'delete',
    path: '/api/workspaces/{id}/files',
    summary: 'Delete a file or folder',
    tags: ['files'],
    access: needs('workspaces:use'),
    security,
    request: { params, query: DeleteFileQuery },
    responses: { 204: noContent, ...errorResponses },
  },
  makeDirectory: {
    method: 'post',
    path: '/api/workspaces/{id}/files/mkdir',
    summary: 'Create a folder',
    tags: ['files'],
    access: needs('workspaces:use'),
    security,
    request: { params, body: body(MakeDirectoryRequest) },
    responses: { 201: json(MakeDirectoryResponse, 'Created'), ...errorResponses },
  },
  execute: {
    method: 'post',
    path: '/api/workspaces/{id}/execute',
    summary: 'Run a command in the workspace',
    tags: ['executions'],
    access: needs('workspaces:use'),
    security,
    request: { params, body: body(ExecuteRequest) },
    responses: { 202: json(ExecuteAccepted, 'Started; follow its events'), ...errorResponses },
  },
  executionEvents: {
    method: 'get',
    path: '/api/workspaces/{id}/executions/{executionId}/events',
    summary: 'A command’s output and exit, as Server-Sent Events',
    tags: ['executions'],
    access: needs('workspaces:read'),
    security,
    request: { params: ExecutionParams },
    responses: { 200: eventStream, ...errorResponses },
  },
  cancelExecution: {
    method: 'post',
    path: '/api/workspaces/{id}/executions/{executionId}/cancel',
    summary: 'Stop a running command',
    tags: ['executions'],
    access: needs('workspaces:use'),
    security,
    request: { params: ExecutionParams },
    responses: { 202: json(ExecutionCancelAccepted, 'Cancelling'), ...errorResponses },
  },
  terminal: {
    method: 'get',
    path: '/api/workspaces/{id}/terminal',
    summary: 'An interactive terminal over a WebSocket (messages in @keel/contract/terminal)',
    tags: ['terminal'],
    access: needs('workspaces:use'),
    security,
    request: { params, query: TerminalQuery },
    responses: { 101: { description: 'Switching to the WebSocket protocol' }, ...errorResponses },
  },
  lsp: {
    method: 'get',
    path: '/api/workspaces/{id}/lsp',
    summary: 'A language server in the workspace over a WebSocket (JSON-RPC; see @keel/contract/lsp)',
    tags: ['lsp'],
    access: needs('workspaces:use'),
    security,
    request: { params, query: LspQuery },
    responses: { 101: { description: 'Switching to the WebSocket protocol' }, ...errorResponses },
  },
} as const;
