import { z } from 'zod';
import { StreamEntryId } from './stream-ids.ts';
import { CONTRACT_VERSION } from './version.ts';

/**
 * The interactive terminal: browser ↔ edge over a WebSocket at
 * `GET /api/workspaces/:id/terminal?session=<sessionId>&cols=<n>&rows=<n>&lastSeq=<seq>` (Upgrade: websocket).
 * A session outlives its socket: reconnecting with the same `session` (and `lastSeq`) reattaches
 * and replays what was missed. Every frame is one JSON text message.
 *
 * Behind the edge, a session is a shell on a TTY in the workspace, opened by one `terminal.open` job;
 * keystrokes then travel in an input stream and output in a capped output stream (Redis Streams),
 * never one job per keystroke.
 */

/** Largest input frame, in characters (the `input` message's own cap). */
export const TERMINAL_INPUT_MAX_CHARS = 65_536;

export const TerminalSessionId = z.string().regex(/^trm_[a-z2-7]{20}$/);

export const TerminalClientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('input'), data: z.string().max(TERMINAL_INPUT_MAX_CHARS) }),
  z.object({
    type: z.literal('resize'),
    cols: z.number().int().min(2).max(1000),
    rows: z.number().int().min(2).max(500),
  }),
  z.object({ type: z.literal('ping') }),
]);
export type TerminalClientMessage = z.infer<typeof TerminalClientMessage>;

export const TerminalServerMessage = z.discriminatedUnion('type', [
  /** Sent first: the session to reconnect to. */
  z.object({ type: z.literal('ready'), session: TerminalSessionId }),
  /** Terminal output; `seq` increases, so a reconnect can say what it already has. */
  z.object({ type: z.literal('output'), data: z.string(), seq: z.string() }),
  z.object({ type: z.literal('exit'), exitCode: z.number().nullable() }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
  z.object({ type: z.literal('pong') }),
]);
export type TerminalServerMessage = z.infer<typeof TerminalServerMessage>;

/** A Redis Stream entry id: what `seq` carries, and what `lastSeq` hands back. */
export const TerminalSeq = StreamEntryId;

/**
 * The query of the terminal endpoint. Without `session` a new session opens; with it, that session
 * reattaches and replays what came after `lastSeq` (everything kept, when absent).
 */
export const TerminalQuery = z.object({
  session: TerminalSessionId.optional(),
  cols: z.coerce.number().int().min(2).max(1000).default(80),
  rows: z.coerce.number().int().min(2).max(500).default(24),
  lastSeq: TerminalSeq.optional(),
});
export type TerminalQuery = z.infer<typeof TerminalQuery>;

/** Largest client frame on the wire: a full input frame whose every character is JSON-escaped. */
export const TERMINAL_FRAME_MAX_BYTES = 512 * 1024;
/** Live sessions one workspace may have; a new one past this is refused. */
export const TERMINAL_MAX_SESSIONS_PER_WORKSPACE = 8;
/**
 * Output kept for replay, a rolling buffer: at most TERMINAL_OUTPUT_MAX_ENTRIES entries (every
 * XADD trims to it) of at most TERMINAL_OUTPUT_ENTRY_CHARS UTF-16 units each, and only the newest
 * entries that fit in TERMINAL_OUTPUT_WINDOW_BYTES of UTF-8 (at least one): a session printing
 * without pause keeps about 1 MiB in Redis (many screens), not its entry cap of full entries (4 M
 * characters, up to 12 MiB).
 */
export const TERMINAL_OUTPUT_MAX_ENTRIES = 1_000;
export const TERMINAL_OUTPUT_ENTRY_CHARS = 4_096;
export const TERMINAL_OUTPUT_WINDOW_BYTES = 1024 * 1024;
/**
 * Input not yet read by the runner: every XADD (input and resize) trims to this many entries,
 * so at most TERMINAL_INPUT_MAX_ENTRIES × TERMINAL_INPUT_MAX_CHARS characters.
 */
export const TERMINAL_INPUT_MAX_ENTRIES = 256;
/**
 * What one socket may send as input: frames and characters per second, with bursts (a paste of
 * a few megabytes, a held key). Past it the socket is closed with `rate_limited`. Resizes are not
 * counted: they are coalesced (only the latest size waits to be written).
 */
export const TERMINAL_INPUT_FRAMES_PER_SECOND = 200;
export const TERMINAL_INPUT_FRAME_BURST = 1_000;
export const TERMINAL_INPUT_CHARS_PER_SECOND = 256 * 1024;
export const TERMINAL_INPUT_CHAR_BURST = 4 * 1024 * 1024;
/** Streams and the session record expire this long after their last use. */
export const TERMINAL_STREAM_TTL_SECONDS = 3_600;
/** Once a session has ended, its output stays this long, so a reconnect still learns how it ended. */
export const TERMINAL_ENDED_TTL_SECONDS = 600;
/** A socket marks its session attached for this long and renews it well before it lapses. */
export const TERMINAL_ATTACH_TTL_SECONDS = 30;
export const TERMINAL_ATTACH_RENEW_MS = 10_000;
/**
 * The close code of a socket a stopping edge ends (WebSocket "Service Restart"): the client
 * reconnects at once, through the load balancer to another edge, and resumes its session.
 */
export const SERVER_RESTART_CLOSE_CODE = 1012;

/** The job that opens a session on the workspace's runner; input and output then go through streams. */
export const TerminalOpenJob = z.object({
  v: z.literal(CONTRACT_VERSION),
  type: z.literal('terminal.open'),
  workspaceId: z.string().min(1).max(64),
  sessionId: TerminalSessionId,
  cols: z.number().int().min(2).max(1000),
  rows: z.number().int().min(2).max(500),
});
export type TerminalOpenJob = z.infer<typeof TerminalOpenJob>;

/** Fields of an entry in a session's input stream (edge → runner). */
export const TerminalInputEntry = z.discriminatedUnion('t', [
  z.object({ t: z.literal('input'), d: z.string().max(TERMINAL_INPUT_MAX_CHARS) }),
  z.object({
    t: z.literal('resize'),
    cols: z.coerce.number().int().min(2).max(1000),
    rows: z.coerce.number().int().min(2).max(500),
  }),
]);
export type TerminalInputEntry = z.infer<typeof TerminalInputEntry>;

/** Fields of an entry in a session's output stream (runner → edge); `exit` is always last. */
export const TerminalOutputEntry = z.discriminatedUnion('t', [
  z.object({ t: z.literal('output'), d: z.string() }),
  z.object({ t: z.literal('exit'), d: z.string() }),
]);

/** The `d` of an `exit` entry: how the shell ended, or why the session could not run. */
export const TerminalExit = z.object({
  exitCode: z.number().int().nullable(),
  signal: z.string().optional(),
  /** Set when the session ended for a reason other than the shell exiting. */
  error: z.string().optional(),
  code: z.enum(['workspace_not_running', 'runner_unavailable', 'idle', 'workspace_stopped']).optional(),
});
export type TerminalExit = z.infer<typeof TerminalExit>;

/** The edge's own record of a session: who opened it, where it runs. Runners never read it. */
export const TerminalSessionRecord = z.object({
  workspaceId: z.string(),
  organizationId: z.string(),
  userId: z.string(),
  runnerId: z.string(),
});
export type TerminalSessionRecord = z.infer<typeof TerminalSessionRecord>;
