import { type Accessor, type JSX, Match, Show, Switch } from 'solid-js';
import { Button } from '../components/button.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { errorMessage } from '../forms/error-message.ts';
import type { ListResource } from './list-resource.ts';

/**
 * A settings list in its states: the load's error with a retry, loading, empty (`emptyTitle`,
 * with `empty` below it), and the items, which `children` draws.
 */
export function ListStates<T>(props: {
  list: ListResource<T>;
  /** "your tokens": in "Could not load your tokens." */
  what: string;
  loading: string;
  emptyTitle: string;
  empty?: JSX.Element;
  children: (items: Accessor<T[]>) => JSX.Element;
}) {
  return (
    <>
      <Show when={props.list.error()}>
        {(error) => (
          <div class="alert alert-error" role="alert">
            <p>
              Could not load {props.what}. {errorMessage(error())}
            </p>
            <p>
              <Button variant="secondary" size="small" onClick={() => void props.list.load()}>
                Try again
              </Button>
            </p>
          </div>
        )}
      </Show>
      <Switch>
        <Match when={props.list.items() === undefined && !props.list.error()}>
          <div class="list-placeholder">
            <LoadingIndicator label={props.loading} />
          </div>
        </Match>
        <Match when={props.list.items()?.length === 0}>
          <EmptyState title={props.emptyTitle}>{props.empty}</EmptyState>
        </Match>
        <Match when={props.list.items()}>{(items) => props.children(items)}</Match>
      </Switch>
    </>
  );
}
