import { createSignal, For, Match, Show, Switch } from 'solid-js';
import { Button } from '../../components/button.tsx';
import { EmptyState } from '../../components/empty-state.tsx';
import { errorMessage } from '../../forms/error-message.ts';
import { describeRun, runOutcome } from './describe-run.ts';
import { RunOutput } from './run-output.tsx';
import type { Run, RunStore } from './run-store.ts';

export interface RunPanelProps {
  runs: RunStore;
  /** Why commands cannot run now (the workspace is stopped), or undefined when they can. */
  blockedReason: string | undefined;
  inputRef?: (element: HTMLInputElement) => void;
}

export function RunPanel(props: RunPanelProps) {
  const [command, setCommand] = createSignal('');
  // Where ArrowUp/ArrowDown are in the history of typed commands; -1 is the line being typed.
  const [historyIndex, setHistoryIndex] = createSignal(-1);
  const [cancelError, setCancelError] = createSignal<string>();
  const selectedRun = () => props.runs.runs().find((run) => run.id === props.runs.selected());

  function submit(event: SubmitEvent): void {
    event.preventDefault();
    const text = command().trim();
    if (text === '' || props.blockedReason) return;
    setCommand('');
    setHistoryIndex(-1);
    void props.runs.run(text);
  }

  function recall(step: number): void {
    const commands = props.runs
      .runs()
      .map((run) => run.command)
      .reverse();
    const next = Math.min(commands.length - 1, Math.max(-1, historyIndex() + step));
    setHistoryIndex(next);
    setCommand(next === -1 ? '' : (commands[next] ?? ''));
  }

  async function cancel(run: Run): Promise<void> {
    setCancelError(undefined);
    try {
      await props.runs.cancel(run.id);
    } catch (error) {
      setCancelError(`Could not cancel: ${errorMessage(error)}`);
    }
  }

  return (
    <div class="run-panel">
      <form class="run-form" onSubmit={submit} aria-label="Run a command">
        <label class="visually-hidden" for="run-command">
          Command to run in the workspace
        </label>
        <span class="run-prompt" aria-hidden="true">
          $
        </span>
        <input
          ref={props.inputRef}
          id="run-command"
          class="run-input"
          type="text"
          autocomplete="off"
          spellcheck={false}
          placeholder={props.blockedReason ?? 'A command to run in the workspace root, e.g. ls -la'}
          value={command()}
          onInput={(event) => setCommand(event.currentTarget.value)}
          onKeyDown={(event) => {
            if (event.key === 'ArrowUp') recall(1);
            else if (event.key === 'ArrowDown') recall(-1);
            else return;
            event.preventDefault();
          }}
        />
        <Button
          type="submit"
          size="small"
          disabled={props.blockedReason !== undefined || command().trim() === ''}
        >
          Run
        </Button>
      </form>
      <div class="run-body">
        <Show when={props.runs.runs().length > 0}>
          <div class="run-history">
            <div class="run-history-heading">
              <h3 class="panel-subtitle" id="run-history-title">
                History
              </h3>
              <button type="button" class="link-button" onClick={() => props.runs.clearFinished()}>
                Clear
              </button>
            </div>
            <ul class="run-history-list" aria-labelledby="run-history-title">
              <For each={[...props.runs.runs()].reverse()}>
                {(run) => (
                  <li>
                    <button
                      type="button"
                      class={`run-history-item run-${runOutcome(run)}`}
                      aria-current={props.runs.selected() === run.id ? 'true' : undefined}
                      title={describeRun(run)}
                      onClick={() => props.runs.select(run.id)}
                    >
                      <span class="run-history-status" aria-hidden="true" />
                      <span class="run-history-command">{run.command}</span>
                      <span class="visually-hidden">: {describeRun(run)}</span>
                    </button>
                  </li>
                )}
              </For>
            </ul>
          </div>
        </Show>
        <div class="run-main">
          <Switch>
            <Match when={selectedRun()}>
              {(run) => (
                <>
                  <div class="run-status">
                    <code class="run-status-command">$ {run().command}</code>
                    <span class={`run-status-text run-${runOutcome(run())}`} role="status">
                      <Show when={runOutcome(run()) === 'busy'}>
                        <span class="spinner spinner-small" aria-hidden="true" />
                      </Show>
                      {describeRun(run())}
                    </span>
                    <Show when={run().state === 'running' || run().state === 'reconnecting'}>
                      <Button
                        variant="secondary"
                        size="small"
                        pending={run().cancelling}
                        pendingLabel="Cancelling…"
                        onClick={() => void cancel(run())}
                      >
                        Cancel
                      </Button>
                    </Show>
                  </div>
                  <Show when={cancelError()}>
                    {(message) => (
                      <p class="alert alert-error" role="alert">
                        {message()}
                      </p>
                    )}
                  </Show>
                  <Show when={run().truncated}>
                    <p class="run-note">Earlier output was dropped to keep the page responsive.</p>
                  </Show>
                  <RunOutput chunks={props.runs.output(run().id)} label={`Output of ${run().command}`} />
                </>
              )}
            </Match>
            <Match when={true}>
              <EmptyState title="Nothing run yet">
                <p>
                  Type a command above and press Enter. It runs in the workspace root; its output, colours
                  included, shows here, and ↑ recalls earlier commands.
                </p>
              </EmptyState>
            </Match>
          </Switch>
        </div>
      </div>
    </div>
  );
}
