import type { Permission } from '@keel/contract/permissions';
import type { Command } from './commands.ts';

/** What the IDE offers a person, from what they may do (see session/permissions.ts). */
export interface IdeAllowances {
  /** Write files, run commands, open terminals, start/stop, snapshots: `workspaces:use`. */
  work: boolean;
  /** Explain, rewrite and chat: `ai:use` (a rewrite is applied only with `work` too). */
  ai: boolean;
  /**
   * Push to the repository's remote: only the workspace's owner, who may work in it (the push goes
   * with their own kept Git host token; the edge refuses anyone else, an admin included).
   */
  push: boolean;
}

export function ideAllowances(
  can: (permission: Permission) => boolean,
  options: { owner: boolean } = { owner: false },
): IdeAllowances {
  const work = can('workspaces:use');
  return { work, ai: can('ai:use'), push: work && options.owner };
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
  'git-view',
  'quick-open',
  'search',
]);
const AI: ReadonlySet<string> = new Set(['ai-panel', 'ai-explain', 'ai-rewrite']);
/** Commands for the workspace's owner alone. */
const OWNER: ReadonlySet<string> = new Set(['git-push']);

/** The palette (and its shortcuts) without what the person may not do. */
export function allowedCommands(commands: readonly Command[], allowed: IdeAllowances): Command[] {
  return commands.filter((command) =>
    OWNER.has(command.id)
      ? allowed.push
      : allowed.work || READING.has(command.id) || (allowed.ai && AI.has(command.id)),
  );
}
