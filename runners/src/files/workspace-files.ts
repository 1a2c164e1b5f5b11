import type { ConfinedFs } from './confined-fs.ts';

/**
 * File operations on one workspace, confined to it, whatever holds its files: `ConfinedFs` on a
 * host folder for local drivers, the in-workspace agent for remote ones. Errors are
 * `ConfinedFsError`s with the same codes either way, so jobs answer alike.
 */
export type WorkspaceFiles = Pick<
  ConfinedFs,
  'readFile' | 'writeFile' | 'stat' | 'listDir' | 'listDirBounded' | 'tree' | 'mkdir' | 'remove' | 'rename'
>;
