/*
 * The runner's `patch.validate` and `patch.apply` jobs: the patch library (strict parser,
 * exact applier, all-or-nothing commit) over the workspace's confined file layer. Every
 * refusal is answered as a value (see PatchJobResult in the contract) so the edge can say
 * which files are at fault; nothing here writes unless the whole patch applies.
 */
import type { PatchIssue, PatchJobResult } from '@keel/contract/patch';
import type { Patch } from '@keel/contract/unified-diff';
import { ConfinedFsError, type ConfinedFsErrorCode } from '../files/confined-fs.ts';
import type { WorkspaceFiles } from '../files/workspace-files.ts';
import { sha256 } from '../sha256.ts';
import { type FilePlan, type PatchPlan, planPatch } from './apply.ts';
import { commitPatch, type PatchFs } from './commit.ts';
import { confinedPatchFs } from './confined.ts';
import { PatchCommitError, PatchConflict, PatchParseError } from './errors.ts';
import { parsePatch } from './parse.ts';
import { pathProblem } from './paths.ts';

/** What the jobs need from the runner: the workspace's file layer and its per-file locks. */
export interface PatchJobContext {
  files(workspaceId: string): Promise<WorkspaceFiles>;
  /** Runs `fn` holding the write lock of every path, so a files PUT cannot slip in between. */
  withFileLocks<T>(workspaceId: string, paths: string[], fn: () => Promise<T>): Promise<T>;
}

interface PatchJobInput {
  workspaceId: string;
  patch: string;
  expected?: Record<string, string> | undefined;
}

/**
 * Refusals of the file layer that no retry fixes: a symlink or hard link where the patch
 * writes, a path that turns out to lead outside, something that is not a regular file.
 * They make the patch invalid for this workspace (422), not stale (409).
 */
const REFUSALS = new Set<ConfinedFsErrorCode>([
  'PATH_OUTSIDE_WORKSPACE',
  'INVALID_PATH',
  'IS_SYMLINK',
  'HARD_LINKED',
  'NOT_A_DIRECTORY',
  'IS_A_DIRECTORY',
  'NOT_A_REGULAR_FILE',
  'TOO_LARGE',
  'TOO_DEEP',
]);

export async function validatePatchJob(job: PatchJobInput, ctx: PatchJobContext): Promise<PatchJobResult> {
  const parsed = parseChecked(job);
  if ('outcome' in parsed) return parsed;
  const guarded = refusalGuard(confinedPatchFs(await ctx.files(job.workspaceId)));
  const plan = await planWith(parsed, guarded, job.expected);
  const refused = refusalOf(guarded) ?? noOpOf(plan);
  if (refused) return refused;
  return { outcome: 'checked', ok: plan.ok, files: plan.files.map(reportOf) };
}

export async function applyPatchJob(job: PatchJobInput, ctx: PatchJobContext): Promise<PatchJobResult> {
  const parsed = parseChecked(job);
  if ('outcome' in parsed) return parsed;
  const paths = new Set(Object.keys(job.expected ?? {}));
  for (const f of parsed.files) {
    if (f.oldPath !== null) paths.add(f.oldPath);
    if (f.newPath !== null) paths.add(f.newPath);
  }
  return ctx.withFileLocks(job.workspaceId, [...paths], async () => {
    const guarded = refusalGuard(confinedPatchFs(await ctx.files(job.workspaceId)));
    // Planned once here, under the locks, so a refusal or a no-op is told apart from a
    // conflict before commitPatch (which plans again) touches anything.
    const plan = await planWith(parsed, guarded, job.expected);
    const refused = refusalOf(guarded) ?? noOpOf(plan);
    if (refused) return refused;
    if (!plan.ok) return conflictOf(plan.files.flatMap(issuesOf));
    try {
      const { plan: done } = await commitPatch(guarded, parsed, { expected: job.expected ?? {} });
      return appliedOf(done);
    } catch (err) {
      // A command in the workspace can still change a file between the plan and the switch.
      if (err instanceof PatchConflict) {
        return conflictOf(err.conflicts.map((c) => ({ path: c.path, message: c.reason })));
      }
      if (err instanceof PatchCommitError) {
        return { outcome: 'failed', message: err.message, rolledBack: err.rolledBack };
      }
      throw err;
    }
  });
}

/** Parses the patch and refuses, as `invalid`, what would write nothing or point nowhere. */
function parseChecked(job: PatchJobInput): Patch | PatchJobResult {
  let patch: Patch;
  try {
    patch = parsePatch(job.patch);
  } catch (err) {
    if (!(err instanceof PatchParseError)) throw err;
    return invalid([{ path: err.file ?? '(patch)', message: `line ${err.line}: ${err.reason}` }]);
  }
  if (patch.files.length === 0) return invalid([{ path: '(patch)', message: 'the patch changes no file' }]);
  const issues: PatchIssue[] = [];
  for (const f of patch.files) {
    if (f.kind === 'modify' && f.hunks.every((h) => h.lines.every((l) => l.op === ' '))) {
      issues.push({ path: f.newPath, message: 'the patch changes nothing in this file' });
    }
  }
  for (const path of Object.keys(job.expected ?? {})) {
    const problem = pathProblem(path);
    if (problem) issues.push({ path, message: `expected hash for an invalid path: ${problem}` });
  }
  return issues.length > 0 ? invalid(issues) : patch;
}

function planWith(
  patch: Patch,
  fs: PatchFs,
  expected: Record<string, string> | undefined,
): Promise<PatchPlan> {
  return planPatch(
    patch,
    async (path) => {
      const got = await fs.read(path);
      return got && { content: decodeText(got.data), sha256: sha256(got.data) };
    },
    { expected: expected ?? {} },
  );
}

/** A file layer that remembers which paths it refused, and why, for the verdict. */
function refusalGuard(fs: PatchFs): PatchFs & { refusals: Map<string, string> } {
  const refusals = new Map<string, string>();
  return {
    ...fs,
    refusals,
    async read(path) {
      try {
        const got = await fs.read(path);
        if (got && !isUtf8(got.data)) refusals.set(path, 'not UTF-8 text; only text files can be patched');
        return got;
      } catch (err) {
        if (err instanceof ConfinedFsError && REFUSALS.has(err.code)) refusals.set(path, err.message);
        throw err;
      }
    },
  };
}

function refusalOf(fs: { refusals: Map<string, string> }): PatchJobResult | undefined {
  if (fs.refusals.size === 0) return undefined;
  return invalid([...fs.refusals].map(([path, message]) => ({ path, message })));
}

/** A modification that leaves a file byte for byte as it was is refused, never a silent success. */
function noOpOf(plan: PatchPlan): PatchJobResult | undefined {
  const same = plan.files.filter(
    (f) => f.kind === 'modify' && f.newContent !== null && sha256(f.newContent) === f.baseSha256,
  );
  if (same.length === 0) return undefined;
  return invalid(same.map((f) => ({ path: f.path, message: 'the patch leaves this file unchanged' })));
}

function invalid(issues: PatchIssue[]): PatchJobResult {
  return { outcome: 'invalid', message: summary('the patch is invalid', issues), issues };
}

function conflictOf(issues: PatchIssue[]): PatchJobResult {
  return { outcome: 'conflict', message: summary('the patch does not apply', issues), issues };
}

function summary(what: string, issues: PatchIssue[]): string {
  const first = issues[0];
  if (!first) return what;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return `${what}: ${first.path}: ${first.message}${more}`;
}

function issuesOf(f: FilePlan): PatchIssue[] {
  return f.conflicts.map((c) => ({ path: f.path, message: describeConflict(c) }));
}

function describeConflict(c: { hunk: number | null; reason: string }): string {
  return c.hunk === null ? c.reason : `hunk ${c.hunk + 1}: ${c.reason}`;
}

function reportOf(f: FilePlan) {
  return {
    path: f.path,
    baseSha256: f.baseSha256,
    applies: f.applies,
    conflicts: f.conflicts.map(describeConflict),
  };
}

const ACTIONS = { modify: 'modified', create: 'created', delete: 'deleted', rename: 'renamed' } as const;

function appliedOf(plan: PatchPlan): PatchJobResult {
  let bytesWritten = 0;
  const files = [];
  for (const f of plan.files) {
    if (f.kind === 'verify') continue;
    if (f.newContent !== null) bytesWritten += Buffer.byteLength(f.newContent);
    files.push({
      path: f.path,
      action: ACTIONS[f.kind],
      sha256: f.newContent === null ? null : sha256(f.newContent),
      ...(f.kind === 'rename' && f.oldPath !== null ? { from: f.oldPath } : {}),
    });
  }
  return { outcome: 'applied', files, bytesWritten };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isUtf8(data: Uint8Array): boolean {
  try {
    utf8.decode(data);
    return true;
  } catch {
    return false;
  }
}

function decodeText(data: Uint8Array): string {
  return utf8.decode(data);
}
