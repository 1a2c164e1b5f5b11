import type { QuickOpenMatch } from '@keel/contract/search';
import { createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import { Dialog } from '../../components/dialog.tsx';
import { errorMessage } from '../../forms/error-message.ts';
import type { SearchApi } from '../search/search-api.ts';
import { highlightRuns } from './highlight.ts';

export interface QuickOpenProps {
  open: boolean;
  workspaceId: string;
  search: SearchApi;
  /** Opens the chosen file. */
  onOpen: (path: string) => void;
  onClose: () => void;
}

/** Go to a file by a few letters of its path (Ctrl/⌘+P): the runner matches them over the whole workspace. */
export function QuickOpen(props: QuickOpenProps) {
  return (
    <Dialog open={props.open} title="Go to file" onClose={props.onClose} size="wide">
      <QuickOpenList {...props} />
    </Dialog>
  );
}

/** Keystrokes closer than this make one request. */
const DEBOUNCE_MS = 40;

function QuickOpenList(props: QuickOpenProps) {
  const [query, setQuery] = createSignal('');
  const [results, setResults] = createSignal<QuickOpenMatch[]>([]);
  const [highlighted, setHighlighted] = createSignal(0);
  const [error, setError] = createSignal<string>();
  const [loading, setLoading] = createSignal(true);
  let input: HTMLInputElement | undefined;
  let list: HTMLDivElement | undefined;
  let asked = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(timer));

  async function ask(q: string): Promise<void> {
    const mine = ++asked;
    try {
      const answer = await props.search.quickOpen(props.workspaceId, q, 50);
      // An answer to an older query is dropped: typing went on.
      if (mine !== asked) return;
      setResults(answer.results);
      setHighlighted(0);
      setError(undefined);
    } catch (err) {
      if (mine === asked) setError(errorMessage(err));
    } finally {
      if (mine === asked) setLoading(false);
    }
  }

  onMount(() => {
    input?.focus();
    void ask('');
  });

  function choose(match: QuickOpenMatch | undefined): void {
    if (match === undefined) return;
    props.onClose();
    queueMicrotask(() => props.onOpen(match.path));
  }

  function move(by: number): void {
    const count = results().length;
    if (count === 0) return;
    const next = (highlighted() + by + count) % count;
    setHighlighted(next);
    list?.children[next]?.scrollIntoView({ block: 'nearest' });
  }

  return (
    <div class="palette quick-open">
      <label class="visually-hidden" for="quick-open-input">
        Type part of a file’s path
      </label>
      <input
        ref={input}
        id="quick-open-input"
        class="field-input palette-input"
        type="text"
        role="combobox"
        aria-expanded="true"
        aria-controls="quick-open-list"
        aria-autocomplete="list"
        aria-activedescendant={results().length > 0 ? `quick-open-option-${highlighted()}` : undefined}
        placeholder="Search files by name…"
        autocomplete="off"
        spellcheck={false}
        maxLength={256}
        value={query()}
        onInput={(event) => {
          const q = event.currentTarget.value;
          setQuery(q);
          clearTimeout(timer);
          timer = setTimeout(() => void ask(q), DEBOUNCE_MS);
        }}
        onKeyDown={(event) => {
          if (event.key === 'ArrowDown') move(1);
          else if (event.key === 'ArrowUp') move(-1);
          else if (event.key === 'Enter') choose(results()[highlighted()]);
          else return;
          event.preventDefault();
        }}
      />
      <div ref={list} id="quick-open-list" class="palette-list" role="listbox" aria-label="Files">
        <For each={results()}>
          {(match, index) => {
            const slash = match.path.lastIndexOf('/');
            return (
              // biome-ignore lint/a11y/useKeyWithClickEvents: the combobox input above handles the keyboard (aria-activedescendant).
              <div
                id={`quick-open-option-${index()}`}
                role="option"
                tabIndex={-1}
                class="palette-option quick-open-option"
                classList={{ highlighted: index() === highlighted() }}
                aria-selected={index() === highlighted() ? 'true' : 'false'}
                data-path={match.path}
                onClick={() => choose(match)}
                onMouseMove={() => setHighlighted(index())}
              >
                <span class="quick-open-name">
                  <For each={highlightRuns(match.path.slice(slash + 1), shift(match.positions, slash + 1))}>
                    {(run) => (run.hit ? <mark>{run.text}</mark> : run.text)}
                  </For>
                </span>
                <Show when={slash > 0}>
                  <span class="quick-open-folder muted">
                    <For each={highlightRuns(match.path.slice(0, slash), match.positions)}>
                      {(run) => (run.hit ? <mark>{run.text}</mark> : run.text)}
                    </For>
                  </span>
                </Show>
              </div>
            );
          }}
        </For>
      </div>
      <Show when={error()}>{(message) => <p class="alert alert-error">{message()}</p>}</Show>
      <Show when={!loading() && !error() && results().length === 0}>
        <p class="muted palette-empty">No file matches “{query()}”.</p>
      </Show>
    </div>
  );
}

/** Positions within the name part of a path. */
function shift(positions: readonly number[], by: number): number[] {
  return positions.filter((p) => p >= by).map((p) => p - by);
}
