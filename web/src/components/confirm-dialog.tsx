import { createSignal, type JSX, Show } from 'solid-js';
import { errorMessage } from '../forms/error-message.ts';
import { Button } from './button.tsx';
import { Dialog } from './dialog.tsx';

export interface ConfirmDialogProps {
  open: boolean;
  title: string;
  children: JSX.Element;
  confirmLabel: string;
  pendingLabel: string;
  danger?: boolean;
  /** Runs the action; the dialog stays open, showing the error, if it rejects. */
  onConfirm: () => Promise<void> | void;
  onCancel: () => void;
}

/** "Are you sure?" for actions that interrupt or destroy work; Cancel comes first, as the safe choice. */
export function ConfirmDialog(props: ConfirmDialogProps) {
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<string>();

  async function confirm(): Promise<void> {
    setPending(true);
    setError(undefined);
    try {
      await props.onConfirm();
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setPending(false);
    }
  }

  return (
    <Dialog
      open={props.open}
      title={props.title}
      role="alertdialog"
      onClose={() => {
        if (!pending()) props.onCancel();
      }}
      footer={
        <>
          <Button variant="secondary" onClick={props.onCancel} disabled={pending()}>
            Cancel
          </Button>
          <Button
            variant={props.danger ? 'danger' : 'primary'}
            pending={pending()}
            pendingLabel={props.pendingLabel}
            onClick={() => void confirm()}
          >
            {props.confirmLabel}
          </Button>
        </>
      }
    >
      <div class="dialog-text">{props.children}</div>
      <Show when={error()}>
        {(message) => (
          <p class="alert alert-error" role="alert">
            {message()}
          </p>
        )}
      </Show>
    </Dialog>
  );
}
