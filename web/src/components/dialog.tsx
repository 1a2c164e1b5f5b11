import { createUniqueId, type JSX, onCleanup, onMount, Show } from 'solid-js';

export interface DialogProps {
  open: boolean;
  title: string;
  /** Escape, the close button, or a click on the backdrop. */
  onClose: () => void;
  children: JSX.Element;
  /** Buttons, right-aligned under the content. */
  footer?: JSX.Element;
  size?: 'normal' | 'wide';
  /** 'alertdialog' for questions that interrupt (unsaved changes, deleting). */
  role?: 'dialog' | 'alertdialog';
}

/**
 * A modal on the native <dialog> element: showModal() gives focus trapping, Escape, inertness of the page
 * behind and focus return for free. Mounted only while open, so each opening starts with fresh content.
 */
export function Dialog(props: DialogProps) {
  return (
    <Show when={props.open}>
      <ModalDialog {...props} />
    </Show>
  );
}

function ModalDialog(props: DialogProps) {
  const titleId = createUniqueId();
  let element: HTMLDialogElement | undefined;

  onMount(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : undefined;
    element?.showModal();
    onCleanup(() => {
      element?.close();
      opener?.focus();
    });
  });

  const onBackdrop: JSX.EventHandler<HTMLDialogElement, MouseEvent> = (event) => {
    // A click on the dialog element itself (not its content) is a click on the backdrop.
    if (event.target === event.currentTarget) props.onClose();
  };

  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: the backdrop click is a mouse shortcut; keyboards close with Escape (the cancel event).
    <dialog
      ref={element}
      class={`dialog${props.size === 'wide' ? ' dialog-wide' : ''}`}
      role={props.role === 'alertdialog' ? 'alertdialog' : undefined}
      aria-labelledby={titleId}
      aria-modal="true"
      onCancel={(event) => {
        event.preventDefault();
        props.onClose();
      }}
      onClick={onBackdrop}
    >
      <div class="dialog-body">
        <h2 id={titleId} class="dialog-title">
          {props.title}
        </h2>
        {props.children}
      </div>
      <Show when={props.footer}>
        <div class="dialog-footer">{props.footer}</div>
      </Show>
    </dialog>
  );
}
