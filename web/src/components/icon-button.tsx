import type { JSX } from 'solid-js';

export interface IconButtonProps {
  /** The accessible name, also shown as the tooltip: an icon alone says nothing to a screen reader. */
  label: string;
  onClick: (event: MouseEvent) => void;
  children: JSX.Element;
  pressed?: boolean;
  disabled?: boolean;
  class?: string;
  tabIndex?: number;
}

export function IconButton(props: IconButtonProps) {
  return (
    <button
      type="button"
      class={`icon-button${props.class ? ` ${props.class}` : ''}`}
      aria-label={props.label}
      title={props.label}
      aria-pressed={props.pressed === undefined ? undefined : props.pressed ? 'true' : 'false'}
      aria-disabled={props.disabled ? 'true' : undefined}
      tabIndex={props.tabIndex}
      onClick={(event) => {
        if (props.disabled) return;
        props.onClick(event);
      }}
    >
      {props.children}
    </button>
  );
}
