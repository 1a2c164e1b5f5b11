/*
 * What the runner asks the file agent (the JSON header of a request frame) and what it answers.
 * One request per `WorkspaceFiles` method; `write` carries the file's bytes as the frame's
 * payload and `read` answers with them the same way. Bump `AGENT_PROTOCOL` on any change: the
 * runner refuses an agent that speaks another one.
 */
import type { FileErrorCode } from '@keel/contract/runner-errors';
import type { EntryStat, TreeEntry } from '../confined-fs.ts';

export const AGENT_PROTOCOL = 1;

/** The first frame after the program (id 0): where the agent's workspace is. */
export interface StartRequest {
  root: string;
}
export interface StartResult {
  protocol: number;
}

export type AgentRequest =
  | { op: 'read'; path: string; maxBytes: number }
  | { op: 'write'; path: string; maxBytes: number; mode?: number; createParents?: boolean }
  | { op: 'stat'; path: string }
  | { op: 'list'; path: string; maxEntries?: number }
  | { op: 'tree'; path: string; maxDepth?: number; maxEntries?: number; skipDirs?: string[] }
  | { op: 'mkdir'; path: string; recursive?: boolean; mode?: number }
  | { op: 'remove'; path: string; recursive?: boolean }
  | { op: 'rename'; from: string; to: string; overwrite?: boolean };

/**
 * A refusal: a ConfinedFsError by its code and path (`why` for INVALID_PATH), or any other error
 * of the file system by its errno name (ENOSPC, EIO, …).
 */
export type AgentError =
  | { code: FileErrorCode; path: string; why?: string }
  | { code: 'ERRNO'; errno?: string; message: string };

export type AgentReply = { ok: true; result?: unknown } | { ok: false; error: AgentError };

export type ListResult = { entries: (EntryStat & { name: string })[]; truncated: boolean };
export type TreeResult = { entries: TreeEntry[]; truncated: boolean };
