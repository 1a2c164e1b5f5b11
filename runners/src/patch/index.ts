export * from '@keel/contract/unified-diff';
export { sha256 } from '../sha256.ts';
export type {
  FilePlan,
  FileSnapshot,
  HunkConflict,
  PatchPlan,
  PlannedWrite,
  PlanOptions,
  ReadFile,
} from './apply.ts';
export { applyFile, applyToText, planPatch } from './apply.ts';
export type { CommitResult, PatchFs } from './commit.ts';
export { commitPatch } from './commit.ts';
export { confinedPatchFs } from './confined.ts';
export type { DiffOptions, FileChange } from './diff.ts';
export { multiFileDiff, unifiedDiff } from './diff.ts';
export * from './errors.ts';
export { parsePatch } from './parse.ts';
export { pathProblem } from './paths.ts';
