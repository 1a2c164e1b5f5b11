import { createSignal, For, Show } from 'solid-js';
import { Button } from '../components/button.tsx';
import { Dialog } from '../components/dialog.tsx';
import { errorMessage } from '../forms/error-message.ts';

export interface UnsavedChangesDialogProps {
  /** The files with unsaved changes; the dialog is open while there are any. */
  paths: readonly string[];
  /** What the person is about to do, e.g. "closing this tab", "leaving the workspace". */
  reason: string;
  onSave: () => Promise<void>;
  onDiscard: () => void;
  onCancel: () => void;
}

/** Save, don't save, or stay: asked before unsaved work would be lost. */
export function UnsavedChangesDialog(props: UnsavedChangesDialogProps) {
  const [saving, setSaving] = createSignal(false);
  const [error, setError] = createSignal<string>();
  const one = () => props.paths.length === 1;

  async function save(): Promise<void> {
    setSaving(true);
    setError(undefined);
    try {
      await props.onSave();
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setSaving(false);
    }
  }

  return (
    <Dialog
      open={props.paths.length > 0}
      role="alertdialog"
      title={one() ? `Save changes to ${props.paths[0]}?` : `Save changes to ${props.paths.length} files?`}
      onClose={() => {
        if (!saving()) props.onCancel();
      }}
      footer={
        <>
          <Button variant="secondary" disabled={saving()} onClick={props.onCancel}>
            Cancel
          </Button>
          <Button variant="danger" disabled={saving()} onClick={props.onDiscard}>
            Don’t save
          </Button>
          <Button pending={saving()} pendingLabel="Saving…" onClick={() => void save()}>
            {one() ? 'Save' : 'Save all'}
          </Button>
        </>
      }
    >
      <p class="dialog-text">Your changes will be lost if you don’t save them before {props.reason}.</p>
      <Show when={!one()}>
        <ul class="dialog-list">
          <For each={props.paths}>{(path) => <li>{path}</li>}</For>
        </ul>
      </Show>
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
