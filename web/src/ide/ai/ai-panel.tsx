import { createEffect, createSignal, For, Match, on, Show, Switch } from 'solid-js';
import { Button } from '../../components/button.tsx';
import { EmptyState } from '../../components/empty-state.tsx';
import { IconButton } from '../../components/icon-button.tsx';
import { CloseIcon, TrashIcon } from '../../components/icons.tsx';
import { LoadingIndicator } from '../../components/loading-indicator.tsx';
import { errorMessage } from '../../forms/error-message.ts';
import { SaveIcon } from './ai-icons.tsx';
import type { ConversationStore, Turn } from './conversation-store.ts';
import { MarkdownView } from './markdown-view.tsx';

export interface AiPanelProps {
  conversation: ConversationStore;
  /** The file shown in the editor, offered as context for questions. */
  activeFile: string | undefined;
  /** The keys that open and close this panel, for the empty state's hint. */
  toggleKeys: string;
  /** A short confirmation, e.g. where the conversation was saved. */
  notice?: string | undefined;
  onDismissNotice?: () => void;
  onSave: () => void;
  onClose: () => void;
  textareaRef?: (element: HTMLTextAreaElement) => void;
}

/**
 * Questions about the workspace's code and their streamed answers. The conversation lives in this browser
 * tab only; "Save" writes it into the workspace as a Markdown file when it is worth keeping.
 */
export function AiPanel(props: AiPanelProps) {
  const store = () => props.conversation;
  const [question, setQuestion] = createSignal('');
  const [includeFile, setIncludeFile] = createSignal(true);
  const [stopError, setStopError] = createSignal<string>();
  const [announcement, setAnnouncement] = createSignal('');
  let log: HTMLElement | undefined;
  // Follows the answer as it grows, unless the person scrolled up to read something earlier.
  let pinned = true;

  createEffect(
    on(
      () => {
        const turns = store().turns();
        return turns[turns.length - 1]?.answer.length ?? 0;
      },
      () => {
        if (log && pinned) log.scrollTop = log.scrollHeight;
      },
    ),
  );

  // Answers are not announced token by token (a live region would read the whole answer each time): only
  // that one started and that it is ready.
  createEffect(
    on(
      () => store().turns()[store().turns().length - 1]?.state,
      (state) => {
        if (state === 'waiting') setAnnouncement('Waiting for the answer…');
        else if (state === 'done') setAnnouncement('The answer is ready.');
        else if (state === 'failed') setAnnouncement('No answer: it failed.');
        else if (state === 'cancelled') setAnnouncement('The answer was stopped.');
      },
    ),
  );

  function submit(event: SubmitEvent): void {
    event.preventDefault();
    const text = question().trim();
    if (text === '' || store().busy()) return;
    setQuestion('');
    setStopError(undefined);
    pinned = true;
    const file = includeFile() ? props.activeFile : undefined;
    void store().ask(text, { paths: file ? [file] : [] });
  }

  async function stop(): Promise<void> {
    setStopError(undefined);
    try {
      await store().stop();
    } catch (error) {
      setStopError(`The answer could not be stopped on the server: ${errorMessage(error)}`);
    }
  }

  const notConfigured = () => {
    const availability = store().availability();
    return availability.status === 'not-configured' ? availability : undefined;
  };
  const model = () => {
    const availability = store().availability();
    return availability.status === 'ready' ? availability.model : null;
  };
  const lastTurn = () => store().turns()[store().turns().length - 1];

  return (
    <div class="ai-panel">
      <div class="sidebar-heading ai-panel-heading">
        <h2 id="ai-panel-title" class="sidebar-title">
          AI
        </h2>
        <Show when={model()}>
          {(name) => (
            <span class="ai-model" title={`Answers come from ${name()}`}>
              {name()}
            </span>
          )}
        </Show>
        <div class="tree-toolbar ai-panel-tools">
          <IconButton
            label="Save the conversation to the workspace…"
            disabled={store().turns().length === 0 || store().busy()}
            onClick={props.onSave}
          >
            <SaveIcon />
          </IconButton>
          <IconButton
            label="Clear the conversation"
            disabled={store().turns().length === 0 || store().busy()}
            onClick={() => store().clear()}
          >
            <TrashIcon />
          </IconButton>
          <IconButton label={`Close the AI panel (${props.toggleKeys})`} onClick={props.onClose}>
            <CloseIcon />
          </IconButton>
        </div>
      </div>
      <Switch>
        <Match when={notConfigured()}>
          {(state) => (
            <div class="ai-body ai-setup">
              <EmptyState
                title="No model is configured"
                action={
                  <Button variant="secondary" size="small" onClick={() => void store().checkConfig()}>
                    Check again
                  </Button>
                }
              >
                <p>
                  {state().hint ??
                    'Explanations, chat and rewrites come from an OpenAI-compatible model server (vLLM, for example) that the runner calls. Set these in the runner’s environment, then restart it.'}
                </p>
                <pre class="ai-setup-env">
                  {'KEEL_AI_BASE_URL=http://gpu-host:8000/v1\nKEEL_AI_MODEL=<the model the server serves>'}
                </pre>
              </EmptyState>
            </div>
          )}
        </Match>
        <Match when={true}>
          <section
            ref={log}
            class="ai-body ai-conversation"
            aria-label="Conversation"
            // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard to be scrolled without a mouse.
            tabIndex={0}
            onScroll={(event) => {
              const el = event.currentTarget;
              pinned = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
            }}
          >
            <Show when={props.notice}>
              {(notice) => (
                <p class="alert alert-info ai-note ai-notice" role="status">
                  <span>{notice()}</span>
                  <button type="button" class="link-button" onClick={() => props.onDismissNotice?.()}>
                    Dismiss
                  </button>
                </p>
              )}
            </Show>
            <Show when={store().availability().status === 'unavailable'}>
              <p class="alert alert-info ai-note">
                Could not check whether a model is configured. Asking may still work.
              </p>
            </Show>
            <Show
              when={store().turns().length > 0}
              fallback={
                <EmptyState title="Ask about your code">
                  <p>
                    Select code and choose <strong>Explain selection</strong> from the editor’s context menu,
                    or type a question below. <strong>Rewrite selection…</strong> proposes a change you review
                    before anything is written. <kbd>{props.toggleKeys}</kbd> shows and hides this panel.
                  </p>
                </EmptyState>
              }
            >
              <For each={store().turns()}>
                {(turn, index) => (
                  <TurnView
                    turn={turn}
                    number={index() + 1}
                    last={turn === lastTurn()}
                    busy={store().busy()}
                    onRetry={() => void store().retry()}
                  />
                )}
              </For>
            </Show>
          </section>
          <p class="visually-hidden" role="status">
            {announcement()}
          </p>
          <form class="ai-composer" onSubmit={submit} aria-label="Ask about the code">
            <label class="visually-hidden" for="ai-question">
              Question about the code
            </label>
            <textarea
              ref={props.textareaRef}
              id="ai-question"
              class="ai-input"
              rows={3}
              placeholder="Ask about the code… Enter sends, Shift+Enter starts a new line"
              value={question()}
              onInput={(event) => setQuestion(event.currentTarget.value)}
              onKeyDown={(event) => {
                if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
                event.preventDefault();
                event.currentTarget.form?.requestSubmit();
              }}
            />
            <div class="ai-composer-bar">
              <Show when={props.activeFile} fallback={<span />}>
                {(file) => (
                  <label class="ai-context">
                    <input
                      type="checkbox"
                      checked={includeFile()}
                      onChange={(event) => setIncludeFile(event.currentTarget.checked)}
                    />
                    <span>
                      Include <code>{file()}</code>
                    </span>
                  </label>
                )}
              </Show>
              <Show
                when={store().busy()}
                fallback={
                  <Button type="submit" size="small" disabled={question().trim() === ''}>
                    Send
                  </Button>
                }
              >
                <Button
                  variant="secondary"
                  size="small"
                  pending={store().cancelling()}
                  pendingLabel="Stopping…"
                  ariaLabel="Stop the answer"
                  onClick={() => void stop()}
                >
                  Stop
                </Button>
              </Show>
            </div>
            <Show when={stopError()}>
              {(message) => (
                <p class="alert alert-error" role="alert">
                  {message()}
                </p>
              )}
            </Show>
          </form>
        </Match>
      </Switch>
    </div>
  );
}

function TurnView(props: { turn: Turn; number: number; last: boolean; busy: boolean; onRetry: () => void }) {
  const canRetry = () =>
    props.last &&
    !props.busy &&
    (props.turn.state === 'failed' || props.turn.state === 'cancelled' || props.turn.state === 'interrupted');

  return (
    <article class="ai-turn" aria-label={`Question ${props.number}`}>
      <div class="ai-question">
        <p class="ai-role">You</p>
        <p class="ai-question-text">{props.turn.prompt}</p>
      </div>
      <div class="ai-answer" aria-busy={props.turn.state === 'streaming' ? 'true' : undefined}>
        <p class="ai-role">{props.turn.model ?? 'Answer'}</p>
        <Show when={props.turn.answer !== ''}>
          <MarkdownView source={props.turn.answer} />
        </Show>
        <Switch>
          <Match when={props.turn.state === 'waiting'}>
            <LoadingIndicator label="Waiting for the model…" class="ai-note" />
          </Match>
          <Match when={props.turn.state === 'reconnecting'}>
            <p class="ai-note ai-warning">
              <span class="spinner spinner-small" aria-hidden="true" /> Connection lost: reconnecting, nothing
              of the answer will be lost…
            </p>
          </Match>
          <Match when={props.turn.state === 'failed'}>
            <p class="alert alert-error ai-note" role="alert">
              {props.turn.error ?? 'No answer came.'}
            </p>
          </Match>
          <Match when={props.turn.state === 'cancelled'}>
            <p class="ai-note">Stopped before the end.</p>
          </Match>
          <Match when={props.turn.state === 'interrupted'}>
            <p class="ai-note">Interrupted: the page was reloaded or closed while the answer was coming.</p>
          </Match>
        </Switch>
        <Show when={canRetry()}>
          <Button variant="secondary" size="small" onClick={props.onRetry}>
            Ask again
          </Button>
        </Show>
      </div>
    </article>
  );
}
