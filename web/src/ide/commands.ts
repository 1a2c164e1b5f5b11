/** Something the person can do from the command palette, and the keys that do it directly. */
export interface Command {
  id: string;
  title: string;
  /** Key names as shown, in order, e.g. ['Mod', 'Shift', 'P']; 'Mod' is Ctrl, or ⌘ on a Mac. */
  keys?: readonly string[];
  run(): void;
  /** Commands that cannot run now are listed but marked unavailable, so shortcuts stay discoverable. */
  enabled?(): boolean;
  /** Also taken while the terminal has focus; other shortcuts (Ctrl+B, Ctrl+J…) belong to the shell there. */
  inTerminal?: boolean;
}

/** How a shortcut reads on this platform: "Ctrl+Shift+P", or "⌘⇧P" on a Mac. */
export function shortcutLabel(keys: readonly string[], mac: boolean): string {
  if (!mac) return keys.map((key) => (key === 'Mod' ? 'Ctrl' : key)).join('+');
  const symbols: Record<string, string> = { Mod: '⌘', Shift: '⇧', Alt: '⌥', Ctrl: '⌃' };
  return keys.map((key) => symbols[key] ?? key).join('');
}

/**
 * Commands matching what was typed: every word must appear in the title (any order, any case). Titles
 * that start with the query come first; otherwise the original order is kept.
 */
export function filterCommands(commands: readonly Command[], query: string): Command[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...commands];
  const matching = commands.filter((command) => {
    const title = command.title.toLowerCase();
    return words.every((word) => title.includes(word));
  });
  const first = query.trim().toLowerCase();
  return matching
    .map((command, index) => ({
      command,
      index,
      prefix: command.title.toLowerCase().startsWith(first) ? 0 : 1,
    }))
    .sort((a, b) => a.prefix - b.prefix || a.index - b.index)
    .map((entry) => entry.command);
}

/** Whether a keyboard event is the shortcut `keys` ('Mod' being Ctrl, or ⌘ on a Mac). */
export function matchesShortcut(
  event: Pick<KeyboardEvent, 'key' | 'code' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey'>,
  keys: readonly string[],
  mac: boolean,
): boolean {
  const wants = new Set(keys.slice(0, -1));
  const key = keys[keys.length - 1];
  if (key === undefined) return false;
  // Off a Mac, Ctrl and Mod are the same key; on a Mac, Mod is ⌘ and Ctrl is ⌃.
  const wantsMod = wants.has('Mod');
  const wantsCtrl = wants.has('Ctrl');
  const ctrlMatches = mac ? event.ctrlKey === wantsCtrl : event.ctrlKey === (wantsMod || wantsCtrl);
  const metaMatches = mac ? event.metaKey === wantsMod : !event.metaKey;
  if (!ctrlMatches || !metaMatches) return false;
  if (event.shiftKey !== wants.has('Shift') || event.altKey !== wants.has('Alt')) return false;
  // The physical key as well: with Alt, a Mac types a symbol (Alt+N gives "˜"), and layouts move "`".
  return event.key.toLowerCase() === key.toLowerCase() || event.code === PHYSICAL_KEYS[key.toUpperCase()];
}

const PHYSICAL_KEYS: Record<string, string> = {
  ...Object.fromEntries([...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((letter) => [letter, `Key${letter}`])),
  '`': 'Backquote',
};
