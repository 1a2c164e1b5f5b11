import { onCleanup } from 'solid-js';
import { type Command, matchesShortcut } from './commands.ts';

/**
 * Runs commands from their shortcuts anywhere in the page. Listening in the capture phase lets the IDE's
 * shortcuts win over the browser's (Ctrl+S "save page") and over Monaco's; inside the terminal, only
 * commands marked `inTerminal` are taken, the rest go to the shell.
 */
export function useShortcuts(commands: () => readonly Command[], mac: boolean, blocked: () => boolean): void {
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.defaultPrevented || event.repeat || blocked()) return;
    const inTerminal = event.target instanceof Element && event.target.closest('.terminal-host') !== null;
    for (const command of commands()) {
      if (command.keys === undefined || !matchesShortcut(event, command.keys, mac)) continue;
      if (inTerminal && !command.inTerminal) return;
      event.preventDefault();
      event.stopPropagation();
      if (command.enabled?.() ?? true) command.run();
      return;
    }
    // F1 is the palette's second key, as in VS Code and Monaco.
    if (event.key === 'F1' && !event.ctrlKey && !event.metaKey && !event.altKey && !event.shiftKey) {
      const palette = commands().find((command) => command.id === 'palette');
      if (palette) {
        event.preventDefault();
        event.stopPropagation();
        palette.run();
      }
    }
  };
  window.addEventListener('keydown', onKeyDown, true);
  onCleanup(() => window.removeEventListener('keydown', onKeyDown, true));
}
