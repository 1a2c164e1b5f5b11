import type { JSX } from 'solid-js';

export interface ButtonProps {
  type?: 'button' | 'submit';
  variant?: 'primary' | 'secondary';
  pending?: boolean;
  /** What the button says while its action runs, e.g. "Signing in…". */
  pendingLabel: string;
  onClick?: () => void;
  children: JSX.Element;
}

/**
 * A button that shows its action is running. It stays focusable while pending (aria-disabled, not
 * disabled), so keyboard focus is not thrown back to the page; the click handler ignores repeats instead.
 */
export function Button(props: ButtonProps) {
  return (
    <button
      type={props.type ?? 'button'}
      class={`button button-${props.variant ?? 'primary'}`}
      aria-disabled={props.pending ? 'true' : undefined}
      aria-busy={props.pending ? 'true' : undefined}
      onClick={(event) => {
        if (props.pending) {
          event.preventDefault();
          return;
        }
        props.onClick?.();
      }}
    >
      {props.pending ? (
        <>
          <span class="spinner" aria-hidden="true" />
          {props.pendingLabel}
        </>
      ) : (
        props.children
      )}
    </button>
  );
}
