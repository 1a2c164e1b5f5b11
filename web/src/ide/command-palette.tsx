import { createSignal, For, onMount, Show } from 'solid-js';
import { Dialog } from '../components/dialog.tsx';
import { type Command, filterCommands, shortcutLabel } from './commands.ts';

export interface CommandPaletteProps {
  open: boolean;
  commands: readonly Command[];
  mac: boolean;
  onClose: () => void;
}

/** Every command with its shortcut, filtered as you type; Enter runs the highlighted one. */
export function CommandPalette(props: CommandPaletteProps) {
  return (
    <Dialog open={props.open} title="Commands and keyboard shortcuts" onClose={props.onClose} size="wide">
      <PaletteList {...props} />
    </Dialog>
  );
}

function PaletteList(props: CommandPaletteProps) {
  const [query, setQuery] = createSignal('');
  const [highlighted, setHighlighted] = createSignal(0);
  const matches = () => filterCommands(props.commands, query());
  const available = (command: Command) => command.enabled?.() ?? true;
  let input: HTMLInputElement | undefined;
  let list: HTMLDivElement | undefined;

  onMount(() => input?.focus());

  function run(command: Command | undefined): void {
    if (command === undefined || !available(command)) return;
    props.onClose();
    // After the dialog has closed and focus has returned, so a command that moves focus keeps it.
    queueMicrotask(() => command.run());
  }

  function move(by: number): void {
    const count = matches().length;
    if (count === 0) return;
    const next = (highlighted() + by + count) % count;
    setHighlighted(next);
    list?.children[next]?.scrollIntoView({ block: 'nearest' });
  }

  return (
    <div class="palette">
      <label class="visually-hidden" for="palette-input">
        Type to filter commands
      </label>
      <input
        ref={input}
        id="palette-input"
        class="field-input palette-input"
        type="text"
        role="combobox"
        aria-expanded="true"
        aria-controls="palette-list"
        aria-autocomplete="list"
        aria-activedescendant={matches().length > 0 ? `palette-option-${highlighted()}` : undefined}
        placeholder="Type a command…"
        autocomplete="off"
        spellcheck={false}
        value={query()}
        onInput={(event) => {
          setQuery(event.currentTarget.value);
          setHighlighted(0);
        }}
        onKeyDown={(event) => {
          if (event.key === 'ArrowDown') move(1);
          else if (event.key === 'ArrowUp') move(-1);
          else if (event.key === 'Enter') run(matches()[highlighted()]);
          else return;
          event.preventDefault();
        }}
      />
      <div ref={list} id="palette-list" class="palette-list" role="listbox" aria-label="Commands">
        <For each={matches()}>
          {(command, index) => (
            // biome-ignore lint/a11y/useKeyWithClickEvents: the combobox input above handles the keyboard (aria-activedescendant).
            <div
              id={`palette-option-${index()}`}
              role="option"
              tabIndex={-1}
              class="palette-option"
              classList={{ highlighted: index() === highlighted() }}
              aria-selected={index() === highlighted() ? 'true' : 'false'}
              aria-disabled={available(command) ? undefined : 'true'}
              onClick={() => run(command)}
              onMouseMove={() => setHighlighted(index())}
            >
              <span>{command.title}</span>
              <Show when={command.keys}>
                {(keys) => <kbd class="shortcut">{shortcutLabel(keys(), props.mac)}</kbd>}
              </Show>
            </div>
          )}
        </For>
      </div>
      <Show when={matches().length === 0}>
        <p class="muted palette-empty">No command matches “{query()}”.</p>
      </Show>
    </div>
  );
}
