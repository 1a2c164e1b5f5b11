import type { SearchFileResult, SearchLineMatch } from '@keel/contract/search';
import { SEARCH_PREVIEW_CHARS } from '@keel/contract/search';

export interface RipgrepOptions {
  query: string;
  regex: boolean;
  caseSensitive: boolean;
  wholeWord: boolean;
  include: readonly string[];
  exclude: readonly string[];
}

/** Files larger than this are not searched (a minified bundle or a data dump is no source to read). */
export const SEARCH_MAX_FILE_SIZE = '4M';
/** Highlighted ranges per line at most. */
const MAX_RANGES = 50;
/** How much of a long line is kept before its first match. */
const LEAD = 40;

/**
 * ripgrep's arguments for a search: one argument per option (`--glob=<glob>`, so a glob is never
 * read as an option), the pattern after `--` (a pattern starting with `-` is a pattern), and the
 * workspace folder `.` (the command runs in /workspace; ripgrep does not follow links). Run
 * without a shell. Includes come before excludes (the later glob wins in ripgrep), `.git` last.
 */
export function ripgrepArgv(o: RipgrepOptions): string[] {
  return [
    'rg',
    '--json',
    '--no-config',
    '--hidden',
    `--max-filesize=${SEARCH_MAX_FILE_SIZE}`,
    o.caseSensitive ? '--case-sensitive' : '--ignore-case',
    ...(o.regex ? [] : ['--fixed-strings']),
    ...(o.wholeWord ? ['--word-regexp'] : []),
    ...o.include.map((g) => `--glob=${g}`),
    ...o.exclude.map((g) => `--glob=!${g}`),
    '--glob=!.git',
    '--',
    o.query,
    '.',
  ];
}

interface RgText {
  text?: string;
  bytes?: string;
}

interface RgMessage {
  type: string;
  data: {
    path?: RgText;
    lines?: RgText;
    line_number?: number | null;
    submatches?: Array<{ start: number; end: number }>;
  };
}

/**
 * Reads ripgrep's `--json` lines and gathers each file's matches; `onFile` gets a file when
 * ripgrep ends it. Counting stops at `maxMatches` (`onLimit` is called once, the file in progress
 * is handed over with the matches up to the cap). Paths or lines that are not UTF-8 are skipped.
 */
export class RipgrepJsonReader {
  #current: SearchFileResult | undefined;
  #matches = 0;
  #files = 0;
  #limited = false;

  constructor(
    private readonly maxMatches: number,
    private readonly onFile: (file: SearchFileResult) => void,
    private readonly onLimit: () => void,
  ) {}

  get matches(): number {
    return this.#matches;
  }
  get files(): number {
    return this.#files;
  }
  get limited(): boolean {
    return this.#limited;
  }

  line(raw: string): void {
    if (this.#limited || !raw) return;
    let msg: RgMessage;
    try {
      msg = JSON.parse(raw) as RgMessage;
    } catch {
      return;
    }
    const path = msg.data?.path?.text;
    if (msg.type === 'begin') {
      this.#current = path === undefined ? undefined : { path: stripDot(path), matches: [] };
    } else if (msg.type === 'match') {
      const text = msg.data.lines?.text;
      if (!this.#current || text === undefined || !msg.data.line_number) return;
      this.#current.matches.push(lineMatch(text, msg.data.line_number, msg.data.submatches ?? []));
      const count = msg.data.submatches?.length || 1;
      this.#matches += count;
      if (this.#matches >= this.maxMatches) {
        this.#limited = true;
        this.#flush();
        this.onLimit();
      }
    } else if (msg.type === 'end') {
      this.#flush();
    }
  }

  /** What was gathered of a file ripgrep did not end (stopped early). */
  finish(): void {
    this.#flush();
  }

  #flush(): void {
    const file = this.#current;
    this.#current = undefined;
    if (file && file.matches.length > 0) {
      this.#files++;
      this.onFile(file);
    }
  }
}

function stripDot(path: string): string {
  return path.startsWith('./') ? path.slice(2) : path;
}

/**
 * One line's preview and ranges. ripgrep's offsets are UTF-8 bytes; the preview's are UTF-16
 * units. A line longer than the preview is cut around its first match.
 */
export function lineMatch(
  lineText: string,
  lineNumber: number,
  submatches: ReadonlyArray<{ start: number; end: number }>,
): SearchLineMatch {
  const text = lineText.replace(/\r?\n$/, '');
  const ascii = Buffer.byteLength(text) === text.length;
  const bytes = ascii ? undefined : Buffer.from(text);
  const toChar = (byteOffset: number) =>
    bytes
      ? bytes.subarray(0, Math.min(byteOffset, bytes.length)).toString('utf8').length
      : Math.min(byteOffset, text.length);
  let ranges = submatches
    .slice(0, MAX_RANGES)
    .map((s) => [toChar(s.start), toChar(s.end)] as [number, number]);
  let offset = 0;
  let preview = text;
  if (text.length > SEARCH_PREVIEW_CHARS) {
    offset = Math.max(0, (ranges[0]?.[0] ?? 0) - LEAD);
    // Never start inside a surrogate pair.
    const first = text.charCodeAt(offset);
    if (first >= 0xdc00 && first <= 0xdfff) offset++;
    preview = text.slice(offset, offset + SEARCH_PREVIEW_CHARS);
    ranges = ranges
      .map(([s, e]) => [s - offset, Math.min(e - offset, preview.length)] as [number, number])
      .filter(([s, e]) => s >= 0 && s < preview.length && e >= s);
  }
  return { line: lineNumber, text: preview, ranges, offset };
}
