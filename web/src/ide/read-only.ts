import type { Permission } from '@keel/contract/permissions';
import type { Command } from './commands.ts';

/** What the IDE offers a person, from what they may do (see session/permissions.ts). */
export interface IdeAllowances {
  /** Write files, run commands, open terminals, start/stop, snapshots: `workspaces:use`. */
  work: boolean;
  /** Explain, rewrite and chat: `ai:use` (a rewrite is applied only with `work` too). */
  ai: boolean;
}

export function ideAllowances(can: (permission: Permission) => boolean): IdeAllowances {
  return { work: can('workspaces:use'), ai: can('ai:use') };
}

/** Said where the missing controls would be, so a reader knows why they are not there. */
export const READ_ONLY_NOTE =
  'Read-only: your role lets you read this workspace’s files. Editing, saving, running commands and the terminal need the workspaces:use permission.';

/** Palette commands that only read or change the view; everything else writes, runs or needs AI. */
const READING: ReadonlySet<string> = new Set([
  'palette',
  'close-tab',
  'refresh',
  'sidebar',
  'panel',
  'theme',
  'back',
]);
const AI: ReadonlySet<string> = new Set(['ai-panel', 'ai-explain', 'ai-rewrite']);

/** The palette (and its shortcuts) without what the person may not do. */
export function allowedCommands(commands: readonly Command[], allowed: IdeAllowances): Command[] {
  return commands.filter(
    (command) => allowed.work || READING.has(command.id) || (allowed.ai && AI.has(command.id)),
  );
}
