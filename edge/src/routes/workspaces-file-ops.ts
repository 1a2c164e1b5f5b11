import { workspaceRoutes } from '@keel/contract/api/workspaces';
import {
  DeleteFileQuery,
  FileOpResult,
  MakeDirectoryRequest,
  type MakeDirectoryResponse,
  RenameFileRequest,
  type RenameFileResponse,
} from '@keel/contract/files';
import type { RunnerJob } from '@keel/contract/jobs';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { WorkspaceIdParam } from '@keel/contract/workspaces';
import { type Context, Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { AuditMetadata } from '../audit/audit-log.ts';
import { auditByCaller, failureOf } from '../audit/audit-request.ts';
import { sha256Hex } from '../auth/bytes.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { jobTraceOf } from '../http/job-trace.ts';
import { readJson, readParams, readQuery } from '../http/validate.ts';
import { loadWorkspace, type WorkspaceRow } from '../workspaces/access.ts';
import { filesChanged } from '../workspaces/files-version.ts';
import { callRunner } from '../workspaces/runner-call.ts';

/**
 * Renaming, deleting and creating folders: each one runner job on the confined file layer,
 * each audited (path hashes only) whether it succeeds or is refused.
 */
export function workspaceFileOpRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/workspaces');
  on(workspaceRoutes.renameFile, async (c) => {
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    const input = await readJson(c, RenameFileRequest);
    const metadata = {
      fromSha256: sha256Hex(input.from),
      toSha256: sha256Hex(input.to),
      overwrite: input.overwrite,
    };
    const job = { v: CONTRACT_VERSION, type: 'files.rename', workspaceId: row.id, ...input } as const;
    await runFileOp(c, row, job, 'file.rename', metadata);
    const body: RenameFileResponse = { from: input.from, to: input.to };
    return reply(c, workspaceRoutes.renameFile, 200, body);
  });

  on(workspaceRoutes.deleteFile, async (c) => {
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    const { path, recursive } = readQuery(c, DeleteFileQuery);
    const metadata = { pathSha256: sha256Hex(path), recursive };
    const job = { v: CONTRACT_VERSION, type: 'files.delete', workspaceId: row.id, path, recursive } as const;
    await runFileOp(c, row, job, 'file.delete', metadata);
    return c.body(null, 204);
  });

  on(workspaceRoutes.makeDirectory, async (c) => {
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    const { path } = await readJson(c, MakeDirectoryRequest);
    const metadata = { pathSha256: sha256Hex(path) };
    const job = { v: CONTRACT_VERSION, type: 'files.mkdir', workspaceId: row.id, path } as const;
    await runFileOp(c, row, job, 'file.mkdir', metadata);
    const body: MakeDirectoryResponse = { path };
    return reply(c, workspaceRoutes.makeDirectory, 201, body);
  });

  return app;
}

async function runFileOp(
  c: Context<AppEnv>,
  row: WorkspaceRow,
  job: RunnerJob,
  action: string,
  metadata: AuditMetadata,
): Promise<FileOpResult> {
  const services = c.get('services');
  let result: FileOpResult;
  try {
    result = await callRunner(services, row, job, FileOpResult, jobTraceOf(c));
  } catch (err) {
    const { outcome, error } = failureOf(err);
    await auditByCaller(c, { action, outcome, workspaceId: row.id, metadata: { ...metadata, error } });
    throw err;
  } finally {
    // Even a refused recursive delete may have removed part of a folder before it stopped.
    await filesChanged(services, row);
  }
  await auditByCaller(c, {
    action,
    outcome: 'success',
    workspaceId: row.id,
    metadata: { ...metadata, type: result.type },
  });
  return result;
}
