import { type JSX, Show } from 'solid-js';

/** What an empty area shows: what it is for and what to do next, rather than a blank box. */
export function EmptyState(props: {
  title: string;
  children?: JSX.Element;
  action?: JSX.Element;
  class?: string;
}) {
  return (
    <div class={`empty-state${props.class ? ` ${props.class}` : ''}`}>
      <p class="empty-state-title">{props.title}</p>
      <Show when={props.children}>
        <div class="empty-state-body">{props.children}</div>
      </Show>
      <Show when={props.action}>
        <div class="empty-state-action">{props.action}</div>
      </Show>
    </div>
  );
}
