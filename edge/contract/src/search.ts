import { z } from 'zod';
import type { RunnerKeys } from './keys.ts';
import { CONTRACT_VERSION } from './version.ts';

/*
 * Quick open (file names by fuzzy match) and search across files (ripgrep), both run by the
 * workspace's runner inside the workspace. Quick open answers in one call; a search streams its
 * results (the `searchResultsStream` kind in streams.ts) and the edge relays them as SSE.
 */

/** The longest quick-open query: file names, not documents. */
export const QUICK_OPEN_MAX_QUERY = 256;
/** Results one quick-open answer carries at most. */
export const QUICK_OPEN_MAX_LIMIT = 200;
/** The longest search pattern. */
export const SEARCH_MAX_QUERY = 1_000;
/** Include and exclude globs, each. */
export const SEARCH_MAX_GLOBS = 20;
export const SEARCH_MAX_GLOB_LENGTH = 200;
/** Matches one search reports at most, whatever it asks. */
export const SEARCH_MAX_RESULTS = 20_000;
export const SEARCH_DEFAULT_RESULTS = 2_000;
/** A line's preview is cut to about this many characters around its first match. */
export const SEARCH_PREVIEW_CHARS = 250;

/** Without control characters (NUL, newlines): nothing that could end an argument or a line. */
const noControl = (s: string) => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
};

/**
 * A ripgrep glob relative to the workspace: never absolute, never `..`, no leading `!` (excludes
 * have their own list), no backslash (an escape that could hide either). It reaches ripgrep as
 * the value of one `--glob=` argument, never through a shell.
 */
export const SearchGlob = z
  .string()
  .min(1)
  .max(SEARCH_MAX_GLOB_LENGTH)
  .refine(noControl, { message: 'must not contain control characters' })
  .refine((s) => !s.startsWith('/') && !s.startsWith('~'), { message: 'must be relative to the workspace' })
  .refine((s) => !s.split('/').includes('..'), { message: 'must not contain ..' })
  .refine((s) => !s.startsWith('!') && !s.includes('\\'), {
    message: 'must not start with ! or contain a backslash',
  });

export const QuickOpenQuery = z.object({
  q: z
    .string()
    .max(QUICK_OPEN_MAX_QUERY)
    .refine(noControl, { message: 'must not contain control characters' })
    .default(''),
  limit: z.coerce.number().int().min(1).max(QUICK_OPEN_MAX_LIMIT).default(50),
});
export type QuickOpenQuery = z.infer<typeof QuickOpenQuery>;

export const QuickOpenMatch = z.object({
  path: z.string(),
  score: z.number(),
  /** Indexes (UTF-16) of the path's characters that matched the query, for highlighting. */
  positions: z.array(z.number().int().nonnegative()),
});
export type QuickOpenMatch = z.infer<typeof QuickOpenMatch>;

export const QuickOpenResponse = z.object({
  results: z.array(QuickOpenMatch),
  /** Files in the index. */
  total: z.number().int().nonnegative(),
  /** The workspace holds more files than the index keeps. */
  truncated: z.boolean(),
  /** Where the names came from: Git's index and untracked files, or a walk of the folder. */
  source: z.enum(['git', 'walk']),
});
export type QuickOpenResponse = z.infer<typeof QuickOpenResponse>;

export const SearchRequest = z.strictObject({
  query: z.string().min(1).max(SEARCH_MAX_QUERY).refine(noControl, {
    message: 'must not contain control characters',
  }),
  regex: z.boolean().default(false),
  caseSensitive: z.boolean().default(false),
  wholeWord: z.boolean().default(false),
  include: z.array(SearchGlob).max(SEARCH_MAX_GLOBS).default([]),
  exclude: z.array(SearchGlob).max(SEARCH_MAX_GLOBS).default([]),
  maxResults: z.number().int().min(1).max(SEARCH_MAX_RESULTS).default(SEARCH_DEFAULT_RESULTS),
});
export type SearchRequest = z.infer<typeof SearchRequest>;

export const SearchStarted = z.object({ searchId: z.string() });
export type SearchStarted = z.infer<typeof SearchStarted>;

/** One matching line: 1-based line number, its preview, and the matches' [start, end) in the preview (UTF-16). */
export const SearchLineMatch = z.object({
  line: z.number().int().positive(),
  text: z.string(),
  ranges: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])),
  /** Characters cut from the line's start for the preview (so a range + offset is the column). */
  offset: z.number().int().nonnegative(),
});
export type SearchLineMatch = z.infer<typeof SearchLineMatch>;

/** One line of the `file` entries' data: one file's matching lines. */
export const SearchFileResult = z.object({ path: z.string(), matches: z.array(SearchLineMatch) });
export type SearchFileResult = z.infer<typeof SearchFileResult>;

/** The data of the final `done` entry. */
export const SearchDone = z.object({
  matches: z.number().int().nonnegative(),
  files: z.number().int().nonnegative(),
  /** Why it stopped early: a cap on matches, on bytes of results, or on time. */
  truncated: z.enum(['matches', 'bytes', 'time']).nullable(),
  /** The search could not run (a bad regex, a stopped workspace, the runner going away). */
  error: z.string().optional(),
  elapsedMs: z.number().nonnegative().optional(),
});
export type SearchDone = z.infer<typeof SearchDone>;

/** Where a search's results live: under its runner's prefix, like every stream a runner writes. */
export function searchStreamKey(keys: RunnerKeys, searchId: string): string {
  return `${keys.base}search:${searchId}`;
}
/** Who may read a search (sealed by the edge, as an execution's meta). */
export function searchMetaKey(keys: RunnerKeys, searchId: string): string {
  return `${keys.base}search:${searchId}:meta`;
}
/** Results are for the person who is looking: kept minutes, not days. */
export const SEARCH_STREAM_TTL_SECONDS = 600;
/** Bytes of results one search keeps at most (the `bytes` cap). */
export const SEARCH_MAX_BYTES = 8 * 1024 * 1024;

const v = z.literal(CONTRACT_VERSION);
const workspaceId = z.string().min(1).max(64);

/** Quick open: the runner matches `query` against its index of the workspace's file names. */
export const FilesFindJob = z.object({
  v,
  type: z.literal('files.find'),
  workspaceId,
  query: z.string().max(QUICK_OPEN_MAX_QUERY),
  limit: z.number().int().min(1).max(QUICK_OPEN_MAX_LIMIT),
});
export const FilesFindResult = QuickOpenResponse;

/** Search across files: the runner answers once ripgrep started and streams what it finds. */
export const SearchStartJob = z.object({
  v,
  type: z.literal('search.start'),
  workspaceId,
  searchId: z.string().min(1).max(64),
  query: z.string().min(1).max(SEARCH_MAX_QUERY),
  regex: z.boolean(),
  caseSensitive: z.boolean(),
  wholeWord: z.boolean(),
  include: z.array(SearchGlob).max(SEARCH_MAX_GLOBS),
  exclude: z.array(SearchGlob).max(SEARCH_MAX_GLOBS),
  maxResults: z.number().int().min(1).max(SEARCH_MAX_RESULTS),
});
export const SearchStartResult = z.object({ started: z.boolean() });
