import { posix } from 'node:path';
import { resolveImports } from './imports.ts';
import { estimateTokens, type Tokenizer } from './tokens.ts';
import { normalizeWorkspacePath } from './workspace-path.ts';

/**
 * Picks what the model sees for a request about one file: the selection, the file (cut
 * around the selection when it is too long), then the workspace files it imports,
 * breadth-first, until the token budget is spent. Deterministic: the same files and the same
 * input give the same blocks in the same order, so prompts can be compared and cached.
 */

/** The workspace as the builder may see it; the runner backs it with the confined file system. */
export interface WorkspaceReader {
  /** Undefined for a missing, unreadable or non-text file. */
  readFile(path: string): Promise<string | undefined>;
  exists(path: string): Promise<boolean>;
}

/** 1-based, inclusive line numbers. */
export interface LineRange {
  startLine: number;
  endLine: number;
}

export type ContextReason = 'selection' | 'file' | 'import';

export interface ContextBlock {
  path: string;
  content: string;
  reason: ContextReason;
  /** True when `content` is only part of what the reason asked for. */
  truncated: boolean;
  /** The file lines `content` covers (1-based, inclusive) and the file's length, for the block header. */
  startLine: number;
  endLine: number;
  totalLines: number;
}

export interface BuiltContext {
  blocks: ContextBlock[];
  /** What the rendered blocks cost under the tokenizer used; never above the budget. */
  tokensUsed: number;
}

export interface BuildContextInput {
  reader: WorkspaceReader;
  /** Workspace-relative path of the file the request is about. */
  path: string;
  /** Its content as the editor has it, which may be newer than the disk. */
  content: string;
  selection?: LineRange;
  budgetTokens: number;
  tokenizer?: Tokenizer;
  /** How many import levels to follow (1 = direct imports only). Default 3. */
  maxDepth?: number;
  /** How many imported files to read at most, whatever the budget. Default 32. */
  maxImportFiles?: number;
}

/** A block that would hold less than this is noise; leave the space unused instead. */
export const MIN_BLOCK_TOKENS = 32;

export async function buildContext(input: BuildContextInput): Promise<BuiltContext> {
  const path = requirePath(input.path);
  const tokenizer = input.tokenizer ?? estimateTokens;
  const maxDepth = input.maxDepth ?? 3;
  const maxImportFiles = input.maxImportFiles ?? 32;
  const budget = new Budget(input.budgetTokens, tokenizer);
  const lines = splitLines(input.content);

  const selection = input.selection && clampRange(input.selection, lines.length);
  if (selection) {
    const block = fitBlock(budget, path, 'selection', lines, selection, selection);
    if (block) budget.take(block);
  }
  const selectionCoversFile =
    selection !== undefined &&
    budget.blocks[0]?.truncated === false &&
    selection.startLine === 1 &&
    selection.endLine === lines.length;
  if (!selectionCoversFile) {
    const focus = selection ?? { startLine: 1, endLine: 1 };
    const block = fitBlock(budget, path, 'file', lines, { startLine: 1, endLine: lines.length }, focus);
    if (block) budget.take(block);
  }

  // Breadth-first over imports, each file once; the target counts as seen so a cycle ends there.
  const seen = new Set([path]);
  let frontier: Array<{ path: string; content: string }> = [{ path, content: input.content }];
  let reads = 0;
  const exists = (p: string) => input.reader.exists(p);
  const more = () => reads < maxImportFiles && budget.left >= MIN_BLOCK_TOKENS;
  for (let depth = 1; depth <= maxDepth && frontier.length > 0 && more(); depth++) {
    const next: typeof frontier = [];
    for (const file of frontier) {
      if (!more()) break;
      for (const imported of await resolveImports(file.path, file.content, exists)) {
        if (!more()) break;
        if (seen.has(imported)) continue;
        seen.add(imported);
        reads++;
        const content = await input.reader.readFile(imported);
        if (content === undefined) continue;
        const importedLines = splitLines(content);
        const all = { startLine: 1, endLine: importedLines.length };
        const block = fitBlock(budget, imported, 'import', importedLines, all, { startLine: 1, endLine: 1 });
        if (block) budget.take(block);
        next.push({ path: imported, content });
      }
    }
    frontier = next;
  }
  return { blocks: budget.blocks, tokensUsed: budget.used };
}

export interface BuildFilesContextInput {
  reader: WorkspaceReader;
  /** Workspace-relative paths, in the order the user gave them; bad or missing ones are skipped. */
  paths: string[];
  budgetTokens: number;
  tokenizer?: Tokenizer;
}

/** Context for a chat that names files: each file from its top, in the given order, until the budget is spent. */
export async function buildFilesContext(input: BuildFilesContextInput): Promise<BuiltContext> {
  const budget = new Budget(input.budgetTokens, input.tokenizer ?? estimateTokens);
  const seen = new Set<string>();
  for (const raw of input.paths) {
    const path = normalizeWorkspacePath(raw);
    if (path === undefined || seen.has(path) || budget.left < MIN_BLOCK_TOKENS) continue;
    seen.add(path);
    const content = await input.reader.readFile(path);
    if (content === undefined) continue;
    const lines = splitLines(content);
    const block = fitBlock(
      budget,
      path,
      'file',
      lines,
      { startLine: 1, endLine: lines.length },
      { startLine: 1, endLine: 1 },
    );
    if (block) budget.take(block);
  }
  return { blocks: budget.blocks, tokensUsed: budget.used };
}

// ---- rendering: the builder measures exactly what the prompt will carry ----

export function renderBlock(block: ContextBlock): string {
  const range =
    block.startLine === 1 && block.endLine === block.totalLines
      ? `${block.totalLines} ${block.totalLines === 1 ? 'line' : 'lines'}`
      : `lines ${block.startLine}-${block.endLine} of ${block.totalLines}`;
  const note =
    block.reason === 'selection' ? ', selected by the user' : block.reason === 'import' ? ', imported' : '';
  const fence = fenceFor(block.content);
  const truncated = block.truncated ? ', truncated' : '';
  return `${block.path} (${range}${note}${truncated})\n${fence}${languageOf(block.path)}\n${block.content}\n${fence}`;
}

export const BLOCK_SEPARATOR = '\n\n';

export function renderContext(context: BuiltContext): string {
  return context.blocks.map(renderBlock).join(BLOCK_SEPARATOR);
}

/** A fence longer than any backtick run in the content, so code holding ``` cannot close it early. */
export function fenceFor(content: string): string {
  const longest = Math.max(2, ...[...content.matchAll(/`+/g)].map((m) => m[0].length));
  return '`'.repeat(longest + 1);
}

const LANGUAGES: Record<string, string> = {
  '.ts': 'ts',
  '.tsx': 'tsx',
  '.mts': 'ts',
  '.cts': 'ts',
  '.js': 'js',
  '.jsx': 'jsx',
  '.mjs': 'js',
  '.cjs': 'js',
  '.py': 'python',
  '.rs': 'rust',
  '.go': 'go',
  '.json': 'json',
  '.md': 'markdown',
  '.sh': 'bash',
  '.css': 'css',
  '.html': 'html',
  '.vue': 'vue',
  '.svelte': 'svelte',
  '.java': 'java',
  '.kt': 'kotlin',
  '.c': 'c',
  '.h': 'c',
  '.cpp': 'cpp',
  '.cs': 'csharp',
  '.rb': 'ruby',
  '.php': 'php',
  '.sql': 'sql',
  '.yaml': 'yaml',
  '.yml': 'yaml',
  '.toml': 'toml',
};

export function languageOf(path: string): string {
  return LANGUAGES[posix.extname(path).toLowerCase()] ?? '';
}

// ---- budget and fitting ----

class Budget {
  readonly blocks: ContextBlock[] = [];
  used = 0;
  constructor(
    readonly total: number,
    readonly tokenizer: Tokenizer,
  ) {}

  get left(): number {
    return this.total - this.used;
  }

  cost(block: ContextBlock): number {
    return this.tokenizer(renderBlock(block) + BLOCK_SEPARATOR);
  }

  take(block: ContextBlock): void {
    this.blocks.push(block);
    this.used += this.cost(block);
  }
}

/**
 * The largest window of `bounds` around `focus` that fits: the focus from its top, then
 * lines added above and below in turn. Window size is monotonic in the number of lines
 * added, so a binary search finds the best fit with a handful of real measurements of the
 * rendered block, whatever the tokenizer.
 */
function fitBlock(
  budget: Budget,
  path: string,
  reason: ContextReason,
  lines: string[],
  bounds: LineRange,
  focus: LineRange,
): ContextBlock | undefined {
  const available = budget.left;
  if (available < MIN_BLOCK_TOKENS) return undefined;
  const make = (start: number, end: number, cut = false): ContextBlock => ({
    path,
    reason,
    content: lines.slice(start - 1, end).join('\n'),
    truncated: cut || start > bounds.startLine || end < bounds.endLine,
    startLine: start,
    endLine: end,
    totalLines: lines.length,
  });
  const fits = (block: ContextBlock) => budget.cost(block) <= available;

  const whole = make(bounds.startLine, bounds.endLine);
  if (fits(whole)) return whole;

  const focusLines = focus.endLine - focus.startLine + 1;
  const head = largest(focusLines, (n) => fits(make(focus.startLine, focus.startLine + n - 1)));
  if (head === 0)
    return cutLongLine(budget, make, focus.startLine, lines[focus.startLine - 1] ?? '', available);
  if (head < focusLines) return make(focus.startLine, focus.startLine + head - 1);

  const roomUp = focus.startLine - bounds.startLine;
  const roomDown = bounds.endLine - focus.endLine;
  const grown = (k: number) => {
    let up = Math.min(Math.ceil(k / 2), roomUp);
    const down = Math.min(k - up, roomDown);
    up = Math.min(k - down, roomUp);
    return make(focus.startLine - up, focus.endLine + down);
  };
  return grown(largest(roomUp + roomDown, (k) => fits(grown(k))));
}

/** The largest n in [0, max] with ok(n), for ok true up to some point and false after; ok(0) is assumed. */
function largest(max: number, ok: (n: number) => boolean): number {
  let lo = 0;
  let hi = max;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A first line too long for the budget (minified code): keep a prefix of it rather than nothing. */
function cutLongLine(
  budget: Budget,
  make: (start: number, end: number, cut?: boolean) => ContextBlock,
  lineNo: number,
  line: string,
  available: number,
): ContextBlock | undefined {
  const withText = (n: number) => ({ ...make(lineNo, lineNo, true), content: line.slice(0, n) });
  const n = largest(line.length, (k) => budget.cost(withText(k)) <= available);
  return n > 0 ? withText(n) : undefined;
}

// ---- helpers ----

function requirePath(raw: string): string {
  const path = normalizeWorkspacePath(raw);
  if (path === undefined) throw new RangeError('the target path must be relative and inside the workspace');
  return path;
}

/** Lines without their terminators; a final newline does not make an extra empty line. */
export function splitLines(content: string): string[] {
  const lines = content.split(/\r?\n/);
  if (lines.length > 1 && lines.at(-1) === '') lines.pop();
  return lines;
}

function clampRange(range: LineRange, total: number): LineRange | undefined {
  const startLine = Math.max(1, Math.min(Math.trunc(range.startLine), total));
  const endLine = Math.max(startLine, Math.min(Math.trunc(range.endLine), total));
  return Number.isFinite(startLine) && Number.isFinite(endLine) ? { startLine, endLine } : undefined;
}
