import { workspaceRoutes } from '@keel/contract/api/workspaces';
import type { FileTreeResponse } from '@keel/contract/files';
import { FilesReadResult, FilesTreeResult, FilesWriteResult } from '@keel/contract/jobs';
import { CONTRACT_VERSION } from '@keel/contract/version';
import {
  WorkspaceFilePath,
  WorkspaceIdParam,
  WorkspacePath,
  WriteFileRequest,
} from '@keel/contract/workspaces';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { auditByCaller, failureOf } from '../audit/audit-request.ts';
import { fromBase64, sha256Hex, toBase64 } from '../auth/bytes.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { jobTraceOf } from '../http/job-trace.ts';
import { readJsonWithin, readParams, readQuery } from '../http/validate.ts';
import { loadWorkspace } from '../workspaces/access.ts';
import { cached, FILE_TREE_TTL_SECONDS, treeScope } from '../workspaces/cache.ts';
import { filesChanged, filesVersionKey } from '../workspaces/files-version.ts';
import { callRunner } from '../workspaces/runner-call.ts';

/** The file named by `?path=`, read by the workspace's runner within the size cap. */
async function readThroughRunner(c: Context<AppEnv>) {
  const services = c.get('services');
  const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
  const { path } = readQuery(c, RequiredPathQuery);
  const job = {
    v: CONTRACT_VERSION,
    type: 'files.read',
    workspaceId: row.id,
    path,
    maxBytes: services.config.maxFileBytes,
  } as const;
  return { path, file: await callRunner(services, row, job, FilesReadResult, jobTraceOf(c)) };
}

const PathQuery = z.object({ path: WorkspacePath.default('') });
const RequiredPathQuery = z.object({ path: WorkspaceFilePath });

export function workspaceFileRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/workspaces');

  on(workspaceRoutes.fileTree, async (c) => {
    const services = c.get('services');
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    const { path } = readQuery(c, PathQuery);
    const tree = await cached(
      services,
      treeScope(row),
      sha256Hex(path),
      FILE_TREE_TTL_SECONDS,
      () =>
        callRunner(
          services,
          row,
          { v: CONTRACT_VERSION, type: 'files.tree', workspaceId: row.id, path },
          FilesTreeResult,
          jobTraceOf(c),
        ),
      filesVersionKey(services, row),
    );
    const body: FileTreeResponse = { path, entries: tree.entries, truncated: tree.truncated ?? false };
    return reply(c, workspaceRoutes.fileTree, 200, body);
  });

  on(workspaceRoutes.readFile, async (c) => {
    const { path, file } = await readThroughRunner(c);
    const bytes = fromBase64(file.contentBase64);
    let content: string;
    let encoding: 'utf8' | 'base64' = 'utf8';
    try {
      content = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      content = file.contentBase64;
      encoding = 'base64';
    }
    return reply(c, workspaceRoutes.readFile, 200, {
      path,
      content,
      encoding,
      sha256: file.sha256,
      size: file.size,
    });
  });

  on(workspaceRoutes.readRawFile, async (c) => {
    const { file } = await readThroughRunner(c);
    return c.body(fromBase64(file.contentBase64), 200, {
      'content-type': 'application/octet-stream',
      'x-content-sha256': file.sha256,
      'content-disposition': 'attachment',
    });
  });

  on(workspaceRoutes.writeFile, async (c) => {
    const services = c.get('services');
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    const { path } = readQuery(c, RequiredPathQuery);
    const pathSha256 = sha256Hex(path);
    // Base64 makes a file a third larger, and JSON adds a little.
    const input = await readJsonWithin(
      c,
      WriteFileRequest,
      Math.ceil((services.config.maxFileBytes * 4) / 3) + 65_536,
    );
    let contentBase64: string;
    if (input.encoding === 'base64') {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(input.content) || input.content.length % 4 !== 0) {
        throw new ApiError('validation_failed', 'content is not valid base64');
      }
      contentBase64 = input.content;
    } else {
      contentBase64 = toBase64(new TextEncoder().encode(input.content));
    }
    if ((contentBase64.length * 3) / 4 > services.config.maxFileBytes + 2) {
      throw new ApiError('payload_too_large', `Files are limited to ${services.config.maxFileBytes} bytes`);
    }
    let written: { sha256: string; size: number };
    try {
      written = await callRunner(
        services,
        row,
        {
          v: CONTRACT_VERSION,
          type: 'files.write',
          workspaceId: row.id,
          path,
          contentBase64,
          ...(input.baseSha256 ? { baseSha256: input.baseSha256 } : {}),
        },
        FilesWriteResult,
        jobTraceOf(c),
      );
    } catch (err) {
      const { outcome, error } = failureOf(err);
      await auditByCaller(c, {
        action: 'file.write',
        outcome,
        workspaceId: row.id,
        metadata: { pathSha256, error },
      });
      throw err;
    }
    await filesChanged(services, row);
    await auditByCaller(c, {
      action: 'file.write',
      outcome: 'success',
      workspaceId: row.id,
      metadata: { contentSha256: written.sha256, bytes: written.size, pathSha256 },
    });
    return reply(c, workspaceRoutes.writeFile, 200, { path, sha256: written.sha256, size: written.size });
  });

  return app;
}
