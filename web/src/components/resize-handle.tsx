import type { JSX } from 'solid-js';

export interface ResizeHandleProps {
  /** 'vertical' is a bar between side-by-side panes; 'horizontal' a bar between stacked ones. */
  orientation: 'vertical' | 'horizontal';
  /** Names the pane being resized, e.g. "Resize file tree". */
  label: string;
  /** The id of the pane whose size this controls. */
  controls: string;
  value: number;
  min: number;
  max: number;
  /** When dragging towards the start (left, up) should grow the pane, as for a bottom panel. */
  growsTowardStart?: boolean;
  onResize: (value: number) => void;
}

const KEY_STEP = 16;

/**
 * A draggable pane divider that is also a focusable ARIA separator: arrow keys resize in steps, Home and
 * End jump to the limits, so the layout can be adjusted without a pointer.
 */
export function ResizeHandle(props: ResizeHandleProps) {
  const sign = () => (props.growsTowardStart ? -1 : 1);
  const clamp = (value: number) => Math.min(props.max, Math.max(props.min, value));

  const onPointerDown: JSX.EventHandler<HTMLDivElement, PointerEvent> = (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    const handle = event.currentTarget;
    handle.setPointerCapture(event.pointerId);
    const start = props.orientation === 'vertical' ? event.clientX : event.clientY;
    const startValue = props.value;
    document.body.classList.add(props.orientation === 'vertical' ? 'resizing-x' : 'resizing-y');
    const move = (moveEvent: PointerEvent) => {
      const position = props.orientation === 'vertical' ? moveEvent.clientX : moveEvent.clientY;
      props.onResize(clamp(startValue + sign() * (position - start)));
    };
    const end = () => {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', end);
      handle.removeEventListener('pointercancel', end);
      document.body.classList.remove('resizing-x', 'resizing-y');
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', end);
    handle.addEventListener('pointercancel', end);
  };

  const onKeyDown: JSX.EventHandler<HTMLDivElement, KeyboardEvent> = (event) => {
    const towardEnd = props.orientation === 'vertical' ? 'ArrowRight' : 'ArrowDown';
    const towardStart = props.orientation === 'vertical' ? 'ArrowLeft' : 'ArrowUp';
    let next: number | undefined;
    if (event.key === towardEnd) next = props.value + sign() * KEY_STEP;
    else if (event.key === towardStart) next = props.value - sign() * KEY_STEP;
    else if (event.key === 'Home') next = props.min;
    else if (event.key === 'End') next = props.max;
    if (next === undefined) return;
    event.preventDefault();
    props.onResize(clamp(next));
  };

  return (
    // biome-ignore lint/a11y/useSemanticElements: <hr> cannot take focus or be dragged; a focusable separator is the ARIA pattern for a splitter.
    <div
      class={`resize-handle resize-handle-${props.orientation}`}
      role="separator"
      tabIndex={0}
      aria-label={props.label}
      aria-controls={props.controls}
      aria-orientation={props.orientation}
      aria-valuenow={Math.round(props.value)}
      aria-valuemin={props.min}
      aria-valuemax={props.max}
      onPointerDown={onPointerDown}
      onKeyDown={onKeyDown}
    />
  );
}
