import { z } from 'zod';
import type { RunnerKeys } from './keys.ts';
import { CONTRACT_VERSION } from './version.ts';

/**
 * Language servers in the workspace: browser ↔ edge over a WebSocket at
 * `GET /api/workspaces/:id/lsp?language=<language>` (Upgrade: websocket). Every frame is one
 * JSON-RPC 2.0 message as text, exactly what the language server speaks (Monaco's
 * `WebSocketTransport` sends and takes them as they are). Keel adds two notifications of its own:
 * `$/keel/status` ({@link LspStatus}: starting, ready, failed) and `$/keel/error`
 * ({@link LspError}: why a message was refused, or why the connection ends).
 *
 * Behind the edge, one `lsp.open` job per socket attaches that socket (a connection) to the
 * workspace's server for the language, which the runner starts on first use and shares among every
 * connection to it; messages then travel in per-connection input and output streams (Redis Streams).
 * The runner renumbers requests, so each answer goes back to the connection that asked, and sends
 * notifications (diagnostics) to every connection.
 */

export const LspLanguage = z.enum(['typescript', 'python', 'json', 'css', 'html', 'go']);
export type LspLanguage = z.infer<typeof LspLanguage>;

export const LspQuery = z.object({ language: LspLanguage });
export type LspQuery = z.infer<typeof LspQuery>;

export const LspConnectionId = z.string().regex(/^lsp_[a-z2-7]{20}$/);

/**
 * Largest JSON-RPC message either way (UTF-8 bytes), on the socket, in a stream entry, and in the
 * server's own framing: a bigger one is refused with `message_too_large`, never buffered.
 */
export const LSP_MESSAGE_MAX_BYTES = 4 * 1024 * 1024;
/** Where a workspace's files are, as language servers see them. */
export const LSP_WORKSPACE_URI = 'file:///workspace';

/** JSON-RPC ids: what the client chose; the runner maps them to numbers of its own. */
export const JsonRpcId = z.union([z.number().int(), z.string().max(256)]);

/** One JSON-RPC 2.0 message: a request, a notification, or a response. */
export const JsonRpcMessage = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: JsonRpcId.nullable().optional(),
    method: z.string().min(1).max(256).optional(),
    params: z.unknown().optional(),
    result: z.unknown().optional(),
    error: z.object({ code: z.number().int(), message: z.string(), data: z.unknown().optional() }).optional(),
  })
  .refine((m) => m.method !== undefined || m.id !== undefined, {
    message: 'a JSON-RPC message has a method or an id',
  });
export type JsonRpcMessage = z.infer<typeof JsonRpcMessage>;

export const LspState = z.enum(['starting', 'ready', 'failed', 'stopped']);
export type LspState = z.infer<typeof LspState>;

/** Params of `$/keel/status`. */
export const LspStatus = z.object({
  state: LspState,
  language: LspLanguage,
  /** Why it failed or stopped; the server's name and version when ready. */
  message: z.string().max(2_000).optional(),
});
export type LspStatus = z.infer<typeof LspStatus>;

export const LspErrorCode = z.enum([
  'invalid_message',
  'message_too_large',
  'uri_outside_workspace',
  'rate_limited',
  'server_unavailable',
  'workspace_not_running',
  'workspace_stopped',
  'idle',
  'runner_unavailable',
  'invalid_token',
  'internal_error',
]);
export type LspErrorCode = z.infer<typeof LspErrorCode>;

/** Params of `$/keel/error`. */
export const LspError = z.object({ code: LspErrorCode, message: z.string().max(2_000) });
export type LspError = z.infer<typeof LspError>;

/** The job that attaches one socket to the workspace's server for a language (started on demand). */
export const LspOpenJob = z.object({
  v: z.literal(CONTRACT_VERSION),
  type: z.literal('lsp.open'),
  workspaceId: z.string().min(1).max(64),
  connectionId: LspConnectionId,
  language: LspLanguage,
});
export type LspOpenJob = z.infer<typeof LspOpenJob>;

/** Fields of an entry in a connection's input stream (edge → runner): a message, or the socket's end. */
export const LspInputEntry = z.discriminatedUnion('t', [
  z.object({ t: z.literal('msg'), d: z.string().max(LSP_MESSAGE_MAX_BYTES) }),
  z.object({ t: z.literal('close') }),
]);
export type LspInputEntry = z.infer<typeof LspInputEntry>;

/**
 * Fields of an entry in a connection's output stream (runner → edge): messages for the client
 * (JSON-RPC text, Keel's notifications included), then `end` ({@link LspError}) last.
 */
export const LspOutputEntry = z.discriminatedUnion('t', [
  z.object({ t: z.literal('msg'), d: z.string() }),
  z.object({ t: z.literal('end'), d: z.string() }),
]);

/** Messages a connection may leave unread by the runner; every input XADD trims to it. */
export const LSP_INPUT_MAX_ENTRIES = 512;
/** Messages kept for the edge to read; every output XADD trims to it. */
export const LSP_OUTPUT_MAX_ENTRIES = 1_024;
/** Streams expire this long after their last write. */
export const LSP_STREAM_TTL_SECONDS = 600;
/** Once a connection has ended, its output stays this long. */
export const LSP_ENDED_TTL_SECONDS = 60;
/** A socket marks its connection attached for this long and renews it well before it lapses. */
export const LSP_ATTACH_TTL_SECONDS = 30;
export const LSP_ATTACH_RENEW_MS = 10_000;
/** Live connections one workspace may have (every tab and language together). */
export const LSP_MAX_CONNECTIONS_PER_WORKSPACE = 32;
/** What one socket may send: messages per second with bursts (typing sends a few per keystroke). */
export const LSP_MESSAGES_PER_SECOND = 200;
export const LSP_MESSAGE_BURST = 2_000;
export const LSP_BYTES_PER_SECOND = 8 * 1024 * 1024;
export const LSP_BYTE_BURST = 32 * 1024 * 1024;

/** A connection's keys, under its runner's prefix (see keys.ts). */
export function lspKeys(keys: Pick<RunnerKeys, 'base'>, connectionId: string) {
  return {
    input: `${keys.base}lsp:${connectionId}:in`,
    output: `${keys.base}lsp:${connectionId}:out`,
    attached: `${keys.base}lsp:${connectionId}:attached`,
    /** Set by the first delivery of the connection's open job. */
    claimed: `${keys.base}lsp:${connectionId}:claimed`,
  };
}
/** Live connections of a workspace (sorted set by start time), to cap how many it has. */
export function lspWorkspaceConnectionsKey(keys: Pick<RunnerKeys, 'base'>, workspaceId: string): string {
  return `${keys.base}ws:${workspaceId}:lsp`;
}

/** Fields that carry a document or folder URI in the LSP messages a client sends. */
const URI_FIELDS = new Set(['uri', 'rootUri', 'scopeUri', 'targetUri', 'oldUri', 'newUri', 'baseUri']);
const WORKSPACE_PREFIX = `${LSP_WORKSPACE_URI}/`;

/**
 * A URI a client named that is not inside /workspace, or undefined when all are. The server runs
 * inside the workspace and sees nothing else anyway; this refuses early and says why (defence in
 * depth). `rootPath` (a plain path) is checked like a URI.
 */
export function uriOutsideWorkspace(value: unknown, depth = 0): string | undefined {
  if (depth > 32 || value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const bad = uriOutsideWorkspace(item, depth + 1);
      if (bad !== undefined) return bad;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'string') {
      if (URI_FIELDS.has(key) && !isWorkspaceUri(item)) return item;
      if (key === 'rootPath' && !isWorkspaceUri(`file://${item}`)) return item;
    } else {
      const bad = uriOutsideWorkspace(item, depth + 1);
      if (bad !== undefined) return bad;
    }
  }
  return undefined;
}

/** file:///workspace or below it, with no `..` or encoded separator that could climb out. */
export function isWorkspaceUri(uri: string): boolean {
  if (uri !== LSP_WORKSPACE_URI && !uri.startsWith(WORKSPACE_PREFIX)) return false;
  let path: string;
  try {
    path = decodeURIComponent(uri.slice('file://'.length).split(/[?#]/)[0]!);
  } catch {
    return false;
  }
  if (path.includes('\0') || path.includes('\\')) return false;
  return !path.split('/').some((part) => part === '..');
}

/** The checks the edge and the runner both make of a client's message text, in this order. */
export function checkLspClientMessage(
  text: string,
): { message: JsonRpcMessage } | { error: LspError; id?: string | number } {
  if (utf8Length(text) > LSP_MESSAGE_MAX_BYTES) {
    return {
      error: { code: 'message_too_large', message: `Messages are at most ${LSP_MESSAGE_MAX_BYTES} bytes.` },
    };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { error: { code: 'invalid_message', message: 'The message is not JSON.' } };
  }
  const parsed = JsonRpcMessage.safeParse(raw);
  if (!parsed.success) {
    return { error: { code: 'invalid_message', message: 'The message is not a JSON-RPC 2.0 message.' } };
  }
  const outside = uriOutsideWorkspace(parsed.data.params);
  if (outside !== undefined) {
    const id = parsed.data.id ?? undefined;
    return {
      ...(id !== undefined ? { id } : {}),
      error: {
        code: 'uri_outside_workspace',
        message: `Only documents under file:///workspace/ are served; refused ${JSON.stringify(outside.slice(0, 200))}.`,
      },
    };
  }
  return { message: parsed.data };
}

/** UTF-8 length of a string without encoding it (works the same on Node and workerd). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 && !(c >= 0xd800 && c <= 0xdfff) ? 2 : 1;
  }
  return n;
}
