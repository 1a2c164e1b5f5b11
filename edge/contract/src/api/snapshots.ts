import { z } from 'zod';
import {
  CreateSnapshotRequest,
  RestoreAccepted,
  RunnerBeginSnapshotRequest,
  RunnerBeginSnapshotResponse,
  RunnerCompleteSnapshotRequest,
  RunnerCompleteSnapshotResponse,
  SnapshotAccepted,
  SnapshotListResponse,
  SnapshotParams,
  SnapshotStoreAccessResponse,
  SnapshotStoreResponse,
  UpdateSnapshotStoreRequest,
} from '../snapshots.ts';
import { WorkspaceIdParam } from '../workspaces.ts';
import { body, errorResponses, json, noContent, runnerAuth, userAuth } from './describe.ts';

const tags = ['snapshots'];
const security = userAuth;
export const RunnerSnapshotParam = z.object({ snapshotId: z.string().max(128) });

/** A workspace's snapshots (its owner, or an admin), the install's store, and the runners' side. */
export const snapshotRoutes = {
  listSnapshots: {
    method: 'get',
    path: '/api/workspaces/{id}/snapshots',
    summary: 'A workspace’s snapshots, newest first',
    tags,
    security,
    request: { params: WorkspaceIdParam },
    responses: { 200: json(SnapshotListResponse, 'Snapshots'), ...errorResponses },
  },
  createSnapshot: {
    method: 'post',
    path: '/api/workspaces/{id}/snapshots',
    summary: 'Save the workspace’s files now',
    tags,
    security,
    request: { params: WorkspaceIdParam, body: body(CreateSnapshotRequest, false) },
    responses: {
      202: json(SnapshotAccepted, 'Accepted; pending until the runner has saved it'),
      ...errorResponses,
    },
  },
  deleteSnapshot: {
    method: 'delete',
    path: '/api/workspaces/{id}/snapshots/{snapshotId}',
    summary: 'Delete a snapshot',
    tags,
    security,
    request: { params: SnapshotParams },
    responses: { 204: noContent, ...errorResponses },
  },
  restoreSnapshot: {
    method: 'post',
    path: '/api/workspaces/{id}/snapshots/{snapshotId}/restore',
    summary: 'Replace the workspace’s files with a snapshot’s',
    tags,
    security,
    request: { params: SnapshotParams },
    responses: { 202: json(RestoreAccepted, 'Accepted; the runner carries it out'), ...errorResponses },
  },
  snapshotStore: {
    method: 'get',
    path: '/api/install/snapshot-store',
    summary: 'Where snapshots are kept, their schedule and retention (install administrators)',
    tags,
    security,
    responses: { 200: json(SnapshotStoreResponse, 'The store; never its secret'), ...errorResponses },
  },
  updateSnapshotStore: {
    method: 'put',
    path: '/api/install/snapshot-store',
    summary: 'Change where snapshots are kept (the secret is sealed, never shown again)',
    tags,
    security,
    request: { body: body(UpdateSnapshotStoreRequest) },
    responses: { 200: json(SnapshotStoreResponse, 'Changed'), ...errorResponses },
  },
  runnerSnapshotStore: {
    method: 'get',
    path: '/api/runners/snapshot-store',
    summary: 'The snapshot store’s access, for a runner (audited)',
    tags,
    security: runnerAuth,
    responses: { 200: json(SnapshotStoreAccessResponse, 'The access'), ...errorResponses },
  },
  runnerBeginSnapshot: {
    method: 'post',
    path: '/api/runners/snapshots',
    summary: 'A runner starts a snapshot of a workspace it holds',
    tags,
    security: runnerAuth,
    request: { body: body(RunnerBeginSnapshotRequest) },
    responses: { 201: json(RunnerBeginSnapshotResponse, 'Begun'), ...errorResponses },
  },
  runnerCompleteSnapshot: {
    method: 'post',
    path: '/api/runners/snapshots/{snapshotId}/complete',
    summary: 'A runner reports a snapshot saved, or failed',
    tags,
    security: runnerAuth,
    request: { params: RunnerSnapshotParam, body: body(RunnerCompleteSnapshotRequest) },
    responses: { 200: json(RunnerCompleteSnapshotResponse, 'Recorded'), ...errorResponses },
  },
} as const;
