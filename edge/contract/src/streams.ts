import { z } from 'zod';
import { AiDone, AiStreamMeta, RewriteResult } from './ai.ts';
import {
  AI_STREAM_MAX_BYTES,
  AI_STREAM_MAX_ENTRIES,
  AI_STREAM_TTL_SECONDS,
  LOG_MAX_ENTRIES,
  type RunnerKeys,
  STREAM_MAX_ENTRIES,
  STREAM_TTL_SECONDS,
} from './keys.ts';
import {
  LSP_ENDED_TTL_SECONDS,
  LSP_INPUT_MAX_ENTRIES,
  LSP_MESSAGE_MAX_BYTES,
  LSP_OUTPUT_MAX_ENTRIES,
  LSP_STREAM_TTL_SECONDS,
  LspInputEntry,
  LspOutputEntry,
  lspKeys,
} from './lsp.ts';
import { SEARCH_MAX_BYTES, SEARCH_STREAM_TTL_SECONDS, SearchDone, searchStreamKey } from './search.ts';
import {
  TERMINAL_ENDED_TTL_SECONDS,
  TERMINAL_INPUT_MAX_CHARS,
  TERMINAL_INPUT_MAX_ENTRIES,
  TERMINAL_OUTPUT_ENTRY_CHARS,
  TERMINAL_OUTPUT_MAX_ENTRIES,
  TERMINAL_OUTPUT_WINDOW_BYTES,
  TERMINAL_STREAM_TTL_SECONDS,
  TerminalExit,
  TerminalInputEntry,
  TerminalOutputEntry,
} from './terminal.ts';
import { ExitEvent } from './workspaces.ts';

export {
  compareStreamIds,
  parseStreamCursor,
  STREAM_ENTRY_ID,
  STREAM_START,
  StreamEntryId,
} from './stream-ids.ts';

/**
 * Every Redis Stream that carries something from a runner to a browser (or back), described once:
 * where it lives, what its entries are, which entry ends it, and how it is bounded. The runner's
 * appender (`runners/src/streams/appender.ts`) and the edge's follower (`edge/src/streams/follower.ts`)
 * read their limits from here, so a kind's bounds cannot differ between the side that writes and
 * the side that reads.
 *
 * Entries are flat field lists with a type `t` and data `d` (extra fields only where a kind says
 * so, e.g. a terminal resize). Ids are Redis's (`stream-ids.ts`): the API hands them out as SSE
 * event ids or terminal `seq`s and takes them back as the cursor to resume after.
 *
 * To add a kind: give it a key in `runnerKeys` (keys.ts; everything a runner writes lives under its
 * prefix), describe it below with `defineStreamKind` (a zod schema of its entries, its final types,
 * TTL and both caps), write it with `StreamAppender` on the runner and follow it with a
 * `StreamFollower` on the edge, and add a line to docs/ARCHITECTURE.md ("Where things live").
 */
export interface StreamKind<Entry extends z.ZodType = z.ZodType> {
  /** For logs and docs. */
  readonly name: string;
  /** The stream's key under its runner's prefix. */
  key(keys: RunnerKeys, id: string): string;
  /** The fields of one entry (`t`, `d`, …), as strings. */
  readonly entry: Entry;
  /** Entry types after which nothing more is written; empty for a stream that never ends. */
  readonly final: readonly string[];
  /** Expiry, renewed by every write; null for a stream deleted with its owner instead. */
  readonly ttlSeconds: number | null;
  /** Expiry once the final entry is written (defaults to ttlSeconds). */
  readonly endedTtlSeconds?: number;
  /** Every XADD trims to about this many entries (`MAXLEN ~`). */
  readonly maxEntries: number;
  /** The most bytes of data the stream holds (UTF-8). */
  readonly maxBytes: number;
  /**
   * How the byte cap holds. `cut`: what a stream takes in total is counted as it is written, and
   * past the cap the writer stops and the final entry says so (the entries before stay).
   * `rolling`: a replay window; entries of at most `entryBytes` under the entry cap, so older
   * entries go while new ones come, and the bound is maxEntries × entryBytes.
   */
  readonly bound: 'cut' | 'rolling';
  /**
   * A rolling kind's window in bytes, where its entry cap of full entries would hold too much: the
   * writer trims to the newest entries whose data fit (at least one). maxBytes is then this plus
   * one entry.
   */
  readonly windowBytes?: number;
  /** The most bytes of data one entry holds. */
  readonly entryBytes: number;
  /**
   * Who makes the stream. `runner`: its first XADD (exec output as a job's first write, terminal
   * output). `edge`: the edge writes its first entry, at a fixed id, in the same step that sends
   * the runner its call (the AI answer's `meta`), so it can read what follows before Redis answers.
   * The edge has two such steps, a MULTI (`ai/stream-record.ts`) and the warm start's Lua script
   * (`ai/warm-start.ts`), because the warm path's checks must hold in the same atomic step as the
   * write; both write the same entry (`AI_META_ENTRY_ID`, `metaOf`) and the kind's TTL. Runner
   * streams are not opened by the edge ahead of time (a BullMQ job, or nothing at all), because a
   * stream that exists says its command started: an `exit` of a command that never ran would be
   * written by the edge only when the runner is gone.
   */
  readonly openedBy: 'runner' | 'edge';
}

/** Names a kind's description and keeps its entry schema's type. */
export function defineStreamKind<Entry extends z.ZodType>(kind: StreamKind<Entry>): StreamKind<Entry> {
  return Object.freeze(kind);
}

/** What one command may leave in its stream unless the runner is told otherwise (KEEL_EXEC_OUTPUT_MAX_BYTES). */
export const EXEC_OUTPUT_MAX_BYTES = 16 * 1024 * 1024;

/**
 * A command's output: `stdout` and `stderr` entries of bytes that are valid UTF-8, then one `exit`
 * ({@link ExitEvent}, with `truncatedAtBytes` when the output passed the cap).
 */
export const execOutputStream = defineStreamKind({
  name: 'exec output',
  key: (keys, executionId) => keys.execStream(executionId),
  entry: z.discriminatedUnion('t', [
    z.object({ t: z.literal('stdout'), d: z.string() }),
    z.object({ t: z.literal('stderr'), d: z.string() }),
    z.object({ t: z.literal('exit'), d: z.string() }),
  ]),
  final: ['exit'],
  ttlSeconds: STREAM_TTL_SECONDS,
  maxEntries: STREAM_MAX_ENTRIES,
  maxBytes: EXEC_OUTPUT_MAX_BYTES,
  bound: 'cut',
  entryBytes: 256 * 1024,
  openedBy: 'runner',
});
export const execFinal = ExitEvent;

/** A terminal's output (runner → edge): `output` text, then `exit` ({@link TerminalExit}). */
export const terminalOutputStream = defineStreamKind({
  name: 'terminal output',
  key: (keys, sessionId) => keys.terminalOutput(sessionId),
  entry: TerminalOutputEntry,
  final: ['exit'],
  ttlSeconds: TERMINAL_STREAM_TTL_SECONDS,
  endedTtlSeconds: TERMINAL_ENDED_TTL_SECONDS,
  maxEntries: TERMINAL_OUTPUT_MAX_ENTRIES,
  // UTF-16 units of at most 3 bytes each.
  entryBytes: TERMINAL_OUTPUT_ENTRY_CHARS * 3,
  maxBytes: TERMINAL_OUTPUT_WINDOW_BYTES + TERMINAL_OUTPUT_ENTRY_CHARS * 3,
  bound: 'rolling',
  windowBytes: TERMINAL_OUTPUT_WINDOW_BYTES,
  openedBy: 'runner',
});
export const terminalFinal = TerminalExit;

/** A terminal's input (edge → runner): `input` text and `resize` (`cols`, `rows`). Never ends. */
export const terminalInputStream = defineStreamKind({
  name: 'terminal input',
  key: (keys, sessionId) => keys.terminalInput(sessionId),
  entry: TerminalInputEntry,
  final: [],
  ttlSeconds: TERMINAL_STREAM_TTL_SECONDS,
  maxEntries: TERMINAL_INPUT_MAX_ENTRIES,
  entryBytes: TERMINAL_INPUT_MAX_CHARS * 3,
  maxBytes: TERMINAL_INPUT_MAX_ENTRIES * TERMINAL_INPUT_MAX_CHARS * 3,
  bound: 'rolling',
  openedBy: 'runner',
});

/**
 * An AI answer: `meta` ({@link AiStreamMeta}, written by the edge at {@link AI_META_ENTRY_ID}),
 * `token` text, `result` ({@link RewriteResult}, rewrite only), then `done` ({@link AiDone}).
 */
export const aiAnswerStream = defineStreamKind({
  name: 'AI answer',
  key: (keys, streamId) => keys.aiStream(streamId),
  entry: z.discriminatedUnion('t', [
    z.object({ t: z.literal('meta'), d: z.string() }),
    z.object({ t: z.literal('token'), d: z.string() }),
    z.object({ t: z.literal('result'), d: z.string() }),
    z.object({ t: z.literal('done'), d: z.string() }),
  ]),
  final: ['done'],
  ttlSeconds: AI_STREAM_TTL_SECONDS,
  maxEntries: AI_STREAM_MAX_ENTRIES,
  maxBytes: AI_STREAM_MAX_BYTES,
  bound: 'cut',
  entryBytes: 16 * 1024 * 3,
  openedBy: 'edge',
});
export const aiEntryData = { meta: AiStreamMeta, result: RewriteResult, done: AiDone } as const;

/**
 * Every AI stream's `meta` has this id; the runner's entries get Redis's time-based ids after it,
 * so the edge knows where an answer starts before Redis answers.
 */
export const AI_META_ENTRY_ID = '0-1';

/** A log line's most characters: longer lines are clipped, so the log is bounded in bytes. */
export const LOG_ENTRY_MAX_CHARS = 4_096;

/**
 * A workspace's log: lines whose type is where they came from (`system`, `stdout`, `stderr`) and
 * whose data is the text. Never ends; deleted with the workspace. Older runners named the type
 * `s`: readers accept both.
 */
export const workspaceLogStream = defineStreamKind({
  name: 'workspace log',
  key: (keys, workspaceId) => keys.workspaceLogs(workspaceId),
  entry: z.object({ t: z.enum(['system', 'stdout', 'stderr']), d: z.string() }),
  final: [],
  ttlSeconds: null,
  maxEntries: LOG_MAX_ENTRIES,
  entryBytes: LOG_ENTRY_MAX_CHARS * 3,
  maxBytes: LOG_MAX_ENTRIES * LOG_ENTRY_MAX_CHARS * 3,
  bound: 'rolling',
  openedBy: 'runner',
});

/**
 * A search across files: `file` entries, then `done` ({@link SearchDone}). The `file` entries'
 * data, joined, are lines of JSON, one {@link SearchFileResult} (a file's matching lines) per line:
 * the appender merges and cuts text by size, so an entry may end inside a line and a reader keeps
 * the rest for the next entry. Cut at the search's byte cap (`truncated: 'bytes'`).
 */
export const searchResultsStream = defineStreamKind({
  name: 'search results',
  key: (keys, searchId) => searchStreamKey(keys, searchId),
  entry: z.discriminatedUnion('t', [
    z.object({ t: z.literal('file'), d: z.string() }),
    z.object({ t: z.literal('done'), d: z.string() }),
  ]),
  final: ['done'],
  ttlSeconds: SEARCH_STREAM_TTL_SECONDS,
  maxEntries: 50_000,
  maxBytes: SEARCH_MAX_BYTES,
  bound: 'cut',
  entryBytes: 256 * 1024,
  openedBy: 'runner',
});
export const searchFinal = SearchDone;

/**
 * A language-server connection's output (runner → edge): `msg` (one JSON-RPC message for the
 * client), then `end` ({@link LspError}). Rolling: a client that stops reading loses old messages,
 * never the runner's memory.
 */
export const lspOutputStream = defineStreamKind({
  name: 'language server output',
  key: (keys, connectionId) => lspKeys(keys, connectionId).output,
  entry: LspOutputEntry,
  final: ['end'],
  ttlSeconds: LSP_STREAM_TTL_SECONDS,
  endedTtlSeconds: LSP_ENDED_TTL_SECONDS,
  maxEntries: LSP_OUTPUT_MAX_ENTRIES,
  // One message per entry, of at most LSP_MESSAGE_MAX_BYTES: the appender counts the entry's size
  // in UTF-16 units of up to 3 bytes, so a message it takes is never cut in two.
  entryBytes: LSP_MESSAGE_MAX_BYTES * 3,
  // What a rolling stream can hold at most: its entry cap of its largest entries.
  maxBytes: LSP_OUTPUT_MAX_ENTRIES * LSP_MESSAGE_MAX_BYTES * 3,
  bound: 'rolling',
  openedBy: 'runner',
});

/** A language-server connection's input (edge → runner): `msg` (JSON-RPC from the client), `close`. */
export const lspInputStream = defineStreamKind({
  name: 'language server input',
  key: (keys, connectionId) => lspKeys(keys, connectionId).input,
  entry: LspInputEntry,
  final: ['close'],
  ttlSeconds: LSP_STREAM_TTL_SECONDS,
  maxEntries: LSP_INPUT_MAX_ENTRIES,
  entryBytes: LSP_MESSAGE_MAX_BYTES,
  maxBytes: LSP_INPUT_MAX_ENTRIES * LSP_MESSAGE_MAX_BYTES,
  bound: 'rolling',
  // Like terminal input: written first by the edge's relay, with no entry at a fixed id.
  openedBy: 'runner',
});

/** Every kind, for tests and docs that walk them. */
export const streamKinds = [
  execOutputStream,
  terminalOutputStream,
  terminalInputStream,
  aiAnswerStream,
  workspaceLogStream,
  searchResultsStream,
  lspOutputStream,
  lspInputStream,
] as const;
