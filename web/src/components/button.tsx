import type { JSX } from 'solid-js';

export interface ButtonProps {
  type?: 'button' | 'submit';
  variant?: 'primary' | 'secondary' | 'danger' | 'ghost';
  size?: 'normal' | 'small';
  pending?: boolean;
  /** What the button says while its action runs, e.g. "Signing in…". */
  pendingLabel?: string;
  /** Unavailable, but still focusable and announced (aria-disabled), e.g. "Save" with nothing to save. */
  disabled?: boolean;
  onClick?: () => void;
  /** For buttons whose visible text needs context, e.g. "Open" → "Open demo". */
  ariaLabel?: string;
  title?: string;
  class?: string;
  children: JSX.Element;
}

/**
 * A button that shows its action is running. It stays focusable while pending (aria-disabled, not
 * disabled), so keyboard focus is not thrown back to the page; the click handler ignores repeats instead.
 */
export function Button(props: ButtonProps) {
  const inert = () => props.pending || props.disabled;
  return (
    <button
      type={props.type ?? 'button'}
      class={`button button-${props.variant ?? 'primary'}${props.size === 'small' ? ' button-small' : ''}${props.class ? ` ${props.class}` : ''}`}
      aria-disabled={inert() ? 'true' : undefined}
      aria-busy={props.pending ? 'true' : undefined}
      aria-label={props.ariaLabel}
      title={props.title}
      onClick={(event) => {
        if (inert()) {
          event.preventDefault();
          return;
        }
        props.onClick?.();
      }}
    >
      {props.pending ? (
        <>
          <span class="spinner" aria-hidden="true" />
          {props.pendingLabel ?? props.children}
        </>
      ) : (
        props.children
      )}
    </button>
  );
}
