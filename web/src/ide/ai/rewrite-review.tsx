import { createEffect, Match, on, Show, Switch } from 'solid-js';
import { Button } from '../../components/button.tsx';
import { LoadingIndicator } from '../../components/loading-indicator.tsx';
import { errorMessage } from '../../forms/error-message.ts';
import type { Theme } from '../../theme/theme-store.ts';
import { mountReadOnlyDiff } from '../monaco/read-only-diff.ts';
import { describeRewrite, type RewriteState, type RewriteStore } from './rewrite-store.ts';

export interface RewriteReviewProps {
  rewrite: RewriteStore;
  theme: Theme;
  /** Opens the AI panel, which says how to configure a model. */
  onShowSetup: () => void;
}

/**
 * Covers the editor while a rewrite is made and reviewed: the model's progress, then the change side by
 * side with the file, and Accept or Reject. Nothing reaches the file until Accept.
 */
export function RewriteReview(props: RewriteReviewProps) {
  const state = () => props.rewrite.state();
  let heading: HTMLHeadingElement | undefined;
  // Each new step is announced by moving focus to its heading, as a dialog would.
  createEffect(
    on(
      () => state().phase,
      (phase) => {
        if (phase !== 'idle') queueMicrotask(() => heading?.focus());
      },
    ),
  );

  const target = () => {
    const current = state();
    return current.phase === 'idle' ? undefined : current.target;
  };

  return (
    <Show when={target()}>
      {(rewriting) => (
        <section class="ai-review" aria-labelledby="ai-review-title">
          <div class="ai-review-header" classList={{ 'ai-review-problem': isProblem(state()) }}>
            <div class="ai-review-summary">
              <h2 id="ai-review-title" class="conflict-title" tabIndex={-1} ref={heading}>
                {title(state())}
              </h2>
              <p class="conflict-text ai-review-instruction">“{rewriting().instruction}”</p>
            </div>
            <div class="conflict-actions">
              <Switch>
                <Match when={streaming(state())}>
                  {(current) => (
                    <Button
                      variant="secondary"
                      size="small"
                      pending={current().cancelling}
                      pendingLabel="Stopping…"
                      ariaLabel="Stop the rewrite"
                      onClick={() => void props.rewrite.cancel()}
                    >
                      Stop
                    </Button>
                  )}
                </Match>
                <Match when={reviewing(state())}>
                  {(current) => (
                    <>
                      <Button
                        variant="secondary"
                        size="small"
                        disabled={current().applying}
                        ariaLabel="Reject the change"
                        onClick={() => props.rewrite.reject()}
                      >
                        Reject
                      </Button>
                      <Button
                        size="small"
                        pending={current().applying}
                        pendingLabel="Applying…"
                        ariaLabel={`Accept the change and write ${current().result.path}`}
                        onClick={() => void props.rewrite.accept()}
                      >
                        Accept
                      </Button>
                    </>
                  )}
                </Match>
                <Match when={true}>
                  <Show when={lacksModel(state())}>
                    <Button variant="secondary" size="small" onClick={props.onShowSetup}>
                      How to configure a model
                    </Button>
                  </Show>
                  <Button variant="secondary" size="small" onClick={() => props.rewrite.dismiss()}>
                    Dismiss
                  </Button>
                  <Button size="small" onClick={() => void props.rewrite.retry()}>
                    {state().phase === 'stale' ? 'Rewrite the current version' : 'Try again'}
                  </Button>
                </Match>
              </Switch>
            </div>
          </div>
          <Switch>
            <Match when={streaming(state())}>
              {(current) => (
                <Show
                  when={current().progress !== ''}
                  fallback={<LoadingIndicator label="Waiting for the model…" class="ai-review-wait" />}
                >
                  <ProgressView text={current().progress} reconnecting={current().reconnecting} />
                </Show>
              )}
            </Match>
            <Match when={reviewing(state())}>
              {(current) => (
                <>
                  <Show when={current().error}>
                    {(message) => (
                      <p class="alert alert-error ai-review-alert" role="alert">
                        {message()}
                      </p>
                    )}
                  </Show>
                  <RewriteDiff
                    path={current().result.path}
                    original={current().original}
                    modified={current().modified}
                    theme={props.theme}
                  />
                </>
              )}
            </Match>
            <Match when={problemMessage(state())}>
              {(message) => (
                <p class="alert alert-error ai-review-alert" role="alert">
                  {message()}
                </p>
              )}
            </Match>
          </Switch>
        </section>
      )}
    </Show>
  );
}

function streaming(state: RewriteState) {
  return state.phase === 'streaming' ? state : undefined;
}

function reviewing(state: RewriteState) {
  return state.phase === 'review' ? state : undefined;
}

function lacksModel(state: RewriteState): boolean {
  return state.phase === 'failed' && state.notConfigured;
}

function isProblem(state: RewriteState): boolean {
  return state.phase === 'stale' || state.phase === 'failed';
}

function problemMessage(state: RewriteState): string | undefined {
  return state.phase === 'stale' || state.phase === 'failed' ? state.message : undefined;
}

function title(state: RewriteState): string {
  switch (state.phase) {
    case 'idle':
      return '';
    case 'streaming':
      return `Rewriting ${describeRewrite(state.target)}…`;
    case 'review':
      return `Review the rewrite of ${describeRewrite(state.target)}`;
    case 'stale':
      return `${state.target.path} changed`;
    case 'failed':
      return `The rewrite of ${describeRewrite(state.target)} failed`;
  }
}

/** The model's code as it arrives, kept scrolled to its end. */
function ProgressView(props: { text: string; reconnecting: boolean }) {
  let pre: HTMLPreElement | undefined;
  createEffect(
    on(
      () => props.text.length,
      () => {
        if (pre) pre.scrollTop = pre.scrollHeight;
      },
    ),
  );
  return (
    <>
      {/* Not live: a count that changes with every token would drown a screen reader. */}
      <p class="ai-review-progress-note">
        <span class="spinner spinner-small" aria-hidden="true" />
        <Show
          when={props.reconnecting}
          fallback={`Receiving the new code: ${props.text.length.toLocaleString()} characters so far`}
        >
          <span role="alert">Connection lost: reconnecting, nothing will be lost…</span>
        </Show>
      </p>
      <pre
        ref={pre}
        class="ai-review-progress"
        role="log"
        aria-live="off"
        aria-label="The new code so far"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard to be scrolled without a mouse.
        tabIndex={0}
      >
        {props.text}
      </pre>
    </>
  );
}

/** Monaco's diff editor, read-only: the file as it is on the left, with the change on the right. */
function RewriteDiff(props: { path: string; original: string; modified: string; theme: Theme }) {
  const { ref, ready, error } = mountReadOnlyDiff({
    path: props.path,
    original: props.original,
    modified: props.modified,
    theme: props.theme,
    ariaLabel: `Proposed change to ${props.path}`,
    options: { minimap: { enabled: false } },
  });

  return (
    <>
      <Show when={error()}>
        {(failure) => (
          <p class="alert alert-error ai-review-alert" role="alert">
            The comparison could not be shown. {errorMessage(failure())}
          </p>
        )}
      </Show>
      <Show when={!ready() && !error()}>
        <LoadingIndicator label="Comparing versions…" class="ai-review-wait" />
      </Show>
      <div ref={ref} class="conflict-diff ai-review-diff" />
    </>
  );
}
