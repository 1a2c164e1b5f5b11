import type { SearchDone, SearchFileResult, SearchLineMatch } from '@keel/contract/search';
import { createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import type { FilesApi } from '../../api/files-api.ts';
import type { PatchApi } from '../../api/patch-api.ts';
import { followResumableStream, type StreamFollower } from '../../api/resumable-event-stream.ts';
import { Button } from '../../components/button.tsx';
import { errorMessage } from '../../forms/error-message.ts';
import type { Theme } from '../../theme/theme-store.ts';
import { type ReplacePlan, ReplacePreview } from './replace-preview.tsx';
import './search.css';
import { replaceInFile } from './replace-diff.ts';
import type { SearchApi } from './search-api.ts';
import { parseDone, SearchResults, splitGlobs } from './search-results.ts';

export interface SearchPanelProps {
  workspaceId: string;
  search: SearchApi;
  files: FilesApi;
  patch: PatchApi;
  theme: Theme;
  /** Replace is offered only to people who may write (workspaces:use). */
  canReplace: boolean;
  /** Files with unsaved changes in a tab: replacing in them would overwrite that work or be overwritten. */
  isDirty: (path: string) => boolean;
  onOpenAt: (path: string, line: number, column: number) => void;
  /** Files a replace changed, to read their open tabs again. */
  onReplaced: (paths: string[]) => void;
  onClose: () => void;
  /** Gives the workbench a way to focus the query field (Ctrl/⌘+Shift+F while open). */
  focusRef?: (focus: () => void) => void;
}

/** Typing pauses this long before a search starts. */
const DEBOUNCE_MS = 300;

/**
 * Search across files (Ctrl/⌘+Shift+F): ripgrep in the workspace with regex, case and whole-word
 * toggles and include/exclude globs; results come file by file as they are found, grouped by file
 * with line previews; a click opens the file at the match. "Replace all" shows the change as a
 * diff per file before applying it through the patch API, all files or none.
 */
export function SearchPanel(props: SearchPanelProps) {
  const [query, setQuery] = createSignal('');
  const [replacement, setReplacement] = createSignal('');
  const [regex, setRegex] = createSignal(false);
  const [caseSensitive, setCaseSensitive] = createSignal(false);
  const [wholeWord, setWholeWord] = createSignal(false);
  const [include, setInclude] = createSignal('');
  const [exclude, setExclude] = createSignal('');
  const [files, setFiles] = createSignal<SearchFileResult[]>([]);
  const [done, setDone] = createSignal<SearchDone>();
  const [running, setRunning] = createSignal(false);
  const [error, setError] = createSignal<string>();
  const [plan, setPlan] = createSignal<ReplacePlan>();
  const [planning, setPlanning] = createSignal(false);
  const [collapsed, setCollapsed] = createSignal<ReadonlySet<string>>(new Set());
  let follower: StreamFollower | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let queryInput: HTMLInputElement | undefined;
  let asked = 0;
  onCleanup(() => {
    follower?.stop();
    clearTimeout(timer);
  });
  onMount(() => {
    queryInput?.focus();
    props.focusRef?.(() => {
      queryInput?.focus();
      queryInput?.select();
    });
  });

  const options = () => ({
    query: query(),
    regex: regex(),
    caseSensitive: caseSensitive(),
    wholeWord: wholeWord(),
  });

  async function run(): Promise<void> {
    clearTimeout(timer);
    follower?.stop();
    const mine = ++asked;
    setError(undefined);
    setDone(undefined);
    setFiles([]);
    if (!query()) {
      setRunning(false);
      return;
    }
    setRunning(true);
    try {
      const searchId = await props.search.start(props.workspaceId, {
        ...options(),
        include: splitGlobs(include()),
        exclude: splitGlobs(exclude()),
      });
      if (mine !== asked) return;
      const results = new SearchResults();
      follower = followResumableStream(
        {
          open: (lastEventId, signal) =>
            props.search.openEvents(props.workspaceId, searchId, lastEventId, signal),
          isLast: (event) => event.type === 'done',
        },
        {
          onEvent: (event) => {
            if (mine !== asked) return;
            if (event.type === 'file') {
              if (results.add(event.data).length > 0) setFiles([...results.files]);
            } else if (event.type === 'done') {
              const end = parseDone(event.data);
              setDone(end);
              setRunning(false);
              if (end.error) setError(end.error);
            }
          },
          onFailure: (failure) => {
            if (mine !== asked) return;
            setRunning(false);
            setError(errorMessage(failure));
          },
        },
      );
    } catch (failure) {
      if (mine !== asked) return;
      setRunning(false);
      setError(errorMessage(failure));
    }
  }

  function soon(): void {
    clearTimeout(timer);
    timer = setTimeout(() => void run(), DEBOUNCE_MS);
  }

  function toggle(set: (v: boolean) => void, value: boolean): void {
    set(value);
    if (query()) void run();
  }

  const total = () =>
    files().reduce((n, f) => n + f.matches.reduce((k, m) => k + Math.max(1, m.ranges.length), 0), 0);

  /** Reads each file as it is now and makes its replacement; files with unsaved tabs stop it. */
  async function planReplace(): Promise<void> {
    setError(undefined);
    const paths = files().map((f) => f.path);
    const dirty = paths.filter(props.isDirty);
    if (dirty.length > 0) {
      setError(`Save or close ${dirty.join(', ')} first: replacing would overwrite unsaved changes.`);
      return;
    }
    setPlanning(true);
    try {
      const read = await Promise.all(paths.map((path) => props.files.read(props.workspaceId, path)));
      const changes = read
        .filter((file) => file.encoding === 'utf8')
        .map((file) => ({
          file,
          change: replaceInFile(file.path, file.content, options(), replacement()),
        }))
        .filter(({ change }) => change.lines > 0);
      if (changes.length === 0) {
        setError('Nothing to replace: the files no longer hold the matches. Search again.');
        return;
      }
      setPlan({
        files: changes.map(({ file, change }) => ({
          path: file.path,
          before: file.content,
          after: change.after,
          lines: change.lines,
        })),
        patch: changes.map(({ change }) => change.diff).join(''),
        expected: Object.fromEntries(changes.map(({ file }) => [file.path, file.sha256])),
      });
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setPlanning(false);
    }
  }

  async function apply(current: ReplacePlan): Promise<void> {
    await props.patch.apply(props.workspaceId, current.patch, current.expected);
    setPlan(undefined);
    props.onReplaced(current.files.map((f) => f.path));
    void run();
  }

  return (
    <section class="search-panel" aria-label="Search across files">
      <header class="search-panel-header">
        <h2 class="search-panel-title">Search</h2>
        <button type="button" class="link-button" onClick={props.onClose} aria-label="Close search">
          ×
        </button>
      </header>
      <form
        class="search-form"
        onSubmit={(event) => {
          event.preventDefault();
          void run();
        }}
      >
        <div class="search-row">
          <input
            ref={queryInput}
            class="field-input search-query"
            type="search"
            aria-label="Search"
            placeholder="Search"
            maxLength={1000}
            spellcheck={false}
            value={query()}
            onInput={(event) => {
              setQuery(event.currentTarget.value);
              soon();
            }}
          />
        </div>
        <fieldset class="search-toggles">
          <legend class="visually-hidden">Search options</legend>
          <label title="Match case">
            <input
              type="checkbox"
              aria-label="Match case"
              checked={caseSensitive()}
              onChange={(e) => toggle(setCaseSensitive, e.currentTarget.checked)}
            />{' '}
            Aa
          </label>
          <label title="Match whole word">
            <input
              type="checkbox"
              aria-label="Match whole word"
              checked={wholeWord()}
              onChange={(e) => toggle(setWholeWord, e.currentTarget.checked)}
            />{' '}
            Word
          </label>
          <label title="Use regular expression">
            <input
              type="checkbox"
              aria-label="Use regular expression"
              checked={regex()}
              onChange={(e) => toggle(setRegex, e.currentTarget.checked)}
            />{' '}
            .*
          </label>
        </fieldset>
        <Show when={props.canReplace}>
          <div class="search-row">
            <input
              class="field-input search-replace"
              type="text"
              aria-label="Replace"
              placeholder="Replace"
              spellcheck={false}
              value={replacement()}
              onInput={(event) => setReplacement(event.currentTarget.value)}
            />
            <Button
              size="small"
              variant="secondary"
              // A search stopped early lists only some files: replacing there would miss the rest.
              disabled={running() || files().length === 0 || Boolean(done()?.truncated)}
              title={
                done()?.truncated ? 'The search stopped early: narrow it to replace all matches' : undefined
              }
              pending={planning()}
              pendingLabel="Preparing…"
              onClick={() => void planReplace()}
            >
              Replace all…
            </Button>
          </div>
        </Show>
        <input
          class="field-input search-glob"
          type="text"
          aria-label="Files to include"
          placeholder="Files to include (e.g. src/**, *.ts)"
          spellcheck={false}
          value={include()}
          onInput={(event) => {
            setInclude(event.currentTarget.value);
            if (query()) soon();
          }}
        />
        <input
          class="field-input search-glob"
          type="text"
          aria-label="Files to exclude"
          placeholder="Files to exclude"
          spellcheck={false}
          value={exclude()}
          onInput={(event) => {
            setExclude(event.currentTarget.value);
            if (query()) soon();
          }}
        />
      </form>
      <p class="search-summary muted" role="status">
        <Show when={running()}>Searching… </Show>
        <Show when={files().length > 0 || done()}>
          {total()} {total() === 1 ? 'result' : 'results'} in {files().length}{' '}
          {files().length === 1 ? 'file' : 'files'}
          <Show when={done()?.truncated}>{(why) => ` (stopped early: ${truncatedWhy(why())})`}</Show>
        </Show>
      </p>
      <Show when={error()}>
        {(message) => (
          <p class="alert alert-error search-error" role="alert">
            {message()}
          </p>
        )}
      </Show>
      <ul class="search-results" aria-label="Results">
        <For each={files()}>
          {(file) => (
            <li class="search-file" data-path={file.path}>
              <button
                type="button"
                class="search-file-header"
                aria-expanded={collapsed().has(file.path) ? 'false' : 'true'}
                onClick={() => {
                  const next = new Set(collapsed());
                  if (!next.delete(file.path)) next.add(file.path);
                  setCollapsed(next);
                }}
              >
                <span class="search-file-name">{file.path.slice(file.path.lastIndexOf('/') + 1)}</span>
                <span class="search-file-folder muted">
                  {file.path.slice(0, Math.max(0, file.path.lastIndexOf('/')))}
                </span>
                <span class="search-file-count">{file.matches.length}</span>
              </button>
              <Show when={!collapsed().has(file.path)}>
                <ul class="search-lines">
                  <For each={file.matches}>
                    {(match) => (
                      <li>
                        <button
                          type="button"
                          class="search-line"
                          title={`${file.path}:${match.line}`}
                          onClick={() =>
                            props.onOpenAt(
                              file.path,
                              match.line,
                              match.offset + (match.ranges[0]?.[0] ?? 0) + 1,
                            )
                          }
                        >
                          <span class="search-line-number muted">{match.line}</span>
                          <LinePreview match={match} />
                        </button>
                      </li>
                    )}
                  </For>
                </ul>
              </Show>
            </li>
          )}
        </For>
      </ul>
      <ReplacePreview plan={plan()} theme={props.theme} onApply={apply} onCancel={() => setPlan(undefined)} />
    </section>
  );
}

function LinePreview(props: { match: SearchLineMatch }) {
  const parts = () => {
    const out: Array<{ text: string; hit: boolean }> = [];
    let at = 0;
    for (const [start, end] of props.match.ranges) {
      if (start < at) continue;
      if (start > at) out.push({ text: props.match.text.slice(at, start), hit: false });
      out.push({ text: props.match.text.slice(start, end), hit: true });
      at = end;
    }
    if (at < props.match.text.length) out.push({ text: props.match.text.slice(at), hit: false });
    return out;
  };
  return (
    <span class="search-line-text">
      <For each={parts()}>{(part) => (part.hit ? <mark>{part.text}</mark> : part.text)}</For>
    </span>
  );
}

function truncatedWhy(why: NonNullable<SearchDone['truncated']>): string {
  return why === 'matches'
    ? 'too many results'
    : why === 'bytes'
      ? 'results too large'
      : 'the search took too long';
}
