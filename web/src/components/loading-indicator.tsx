import { Delayed } from './delayed.tsx';

/** A spinner and a label, after a short delay; announced politely to screen readers. */
export function LoadingIndicator(props: { label: string; class?: string }) {
  return (
    <Delayed>
      <p role="status" class={`loading-indicator${props.class ? ` ${props.class}` : ''}`}>
        <span class="spinner" aria-hidden="true" />
        {props.label}
      </p>
    </Delayed>
  );
}
