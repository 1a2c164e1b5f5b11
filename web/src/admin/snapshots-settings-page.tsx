import { createResource, createSignal, Match, Show, Switch } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import type { SnapshotStore } from '../api/fleet-api.ts';
import { Button } from '../components/button.tsx';
import { FormAlert } from '../components/form-alert.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { relativeTime } from '../format/relative-time.ts';
import { describeError, type FormError } from '../forms/describe-error.ts';
import { errorMessage } from '../forms/error-message.ts';
import { textValue } from '../forms/form-action.ts';
import { ChoiceGroup, InputField } from './form-fields.tsx';
import {
  buildSnapshotStoreRequest,
  SNAPSHOT_STORE_FIELDS,
  type SnapshotStoreField,
} from './snapshot-store-form.ts';

/** Admin › Snapshots (install administrators): where workspaces' snapshots are kept, how often, how many. */
export default function SnapshotsSettingsPage() {
  usePageTitle('Snapshots');
  const api = useApis().fleet;
  const [answer, { mutate, refetch }] = createResource(() => api.snapshotStore());
  return (
    <>
      <div class="page-heading">
        <h1 class="page-title">Snapshots</h1>
      </div>
      <p class="page-intro muted">
        Snapshots keep a copy of each workspace’s files in object storage, so a workspace can be restored, and
        moved when its runner is drained or lost. Only runners reach the store; its secret is sealed and never
        shown again.
      </p>
      <Switch>
        <Match when={answer.error}>
          <div class="alert alert-error" role="alert">
            <p>Could not load the snapshot settings. {errorMessage(answer.error)}</p>
            <p>
              <Button variant="secondary" size="small" onClick={() => void refetch()}>
                Try again
              </Button>
            </p>
          </div>
        </Match>
        <Match when={answer()}>
          {(current) => <StoreForm current={current()} onSaved={(saved) => mutate(saved)} />}
        </Match>
        <Match when={true}>
          <div class="list-placeholder">
            <LoadingIndicator label="Loading the snapshot settings…" />
          </div>
        </Match>
      </Switch>
    </>
  );
}

function StoreForm(props: { current: SnapshotStore; onSaved: (saved: SnapshotStore) => void }) {
  const api = useApis().fleet;
  const id = 'snapshot-store';
  const [kind, setKind] = createSignal<'folder' | 's3'>(props.current.store.kind);
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<FormError>();
  const [fields, setFields] = createSignal<Partial<Record<SnapshotStoreField, string>>>({});
  const [saved, setSaved] = createSignal(false);
  const s3 = () => (props.current.store.kind === 's3' ? props.current.store : undefined);
  const folder = () => (props.current.store.kind === 'folder' ? props.current.store : undefined);

  async function submit(event: SubmitEvent & { currentTarget: HTMLFormElement }): Promise<void> {
    event.preventDefault();
    if (pending()) return;
    setSaved(false);
    const data = new FormData(event.currentTarget);
    const built = buildSnapshotStoreRequest({
      kind: kind(),
      path: textValue(data, 'path'),
      endpoint: textValue(data, 'endpoint'),
      region: textValue(data, 'region'),
      bucket: textValue(data, 'bucket'),
      prefix: textValue(data, 'prefix'),
      forcePathStyle: data.get('forcePathStyle') === 'on',
      accessKeyId: textValue(data, 'accessKeyId'),
      secretAccessKey: textValue(data, 'secretAccessKey'),
      intervalMinutes: textValue(data, 'intervalMinutes'),
      retention: textValue(data, 'retention'),
      onStop: data.get('onStop') === 'on',
      hasSecret: props.current.secretFingerprint !== null && props.current.store.kind === 's3',
    });
    if (!built.ok) {
      setFields(built.fields);
      setError({ message: built.message, fields: {} });
      return;
    }
    setPending(true);
    setError(undefined);
    setFields({});
    try {
      props.onSaved(await api.setSnapshotStore(built.request));
      setSaved(true);
      // The secret was sent once; it is not kept in the page.
      const secret = event.currentTarget.elements.namedItem('secretAccessKey');
      if (secret instanceof HTMLInputElement) secret.value = '';
    } catch (failure) {
      const described = describeError(failure, SNAPSHOT_STORE_FIELDS);
      setFields(described.fields as Partial<Record<SnapshotStoreField, string>>);
      setError(described);
    } finally {
      setPending(false);
    }
  }

  return (
    <section class="card" aria-labelledby="snapshot-store-heading">
      <h2 id="snapshot-store-heading" class="card-title">
        Store and schedule
      </h2>
      <form class="form" aria-labelledby="snapshot-store-heading" onSubmit={(e) => void submit(e)} novalidate>
        <FormAlert error={error()} />
        <Show when={saved()}>
          <p class="alert alert-info" role="status">
            Saved. Runners use the new store for their next snapshot.
          </p>
        </Show>
        <ChoiceGroup
          legend="Where snapshots are kept"
          name="kind"
          value={kind()}
          choices={[
            {
              value: 'folder',
              title: 'A folder',
              hint: 'On the runners’ hosts; every runner must reach the same folder (a shared mount).',
            },
            { value: 's3', title: 'An S3-compatible store', hint: 'AWS S3, MinIO, Ceph, R2 and others.' },
          ]}
          onChange={setKind}
        />
        <Show when={kind() === 'folder'}>
          <InputField
            formId={id}
            name="path"
            label="Folder"
            value={folder()?.path ?? ''}
            maxLength={1024}
            placeholder="/srv/keel/snapshots"
            hint="An absolute path. Empty: each runner’s KEEL_SNAPSHOT_DIR."
            error={fields().path}
          />
        </Show>
        <Show when={kind() === 's3'}>
          <InputField
            formId={id}
            name="endpoint"
            label="Endpoint"
            required
            value={s3()?.endpoint ?? ''}
            maxLength={512}
            placeholder="https://s3.eu-west-1.amazonaws.com"
            error={fields().endpoint}
          />
          <InputField
            formId={id}
            name="region"
            label="Region"
            value={s3()?.region ?? 'us-east-1'}
            maxLength={64}
            error={fields().region}
          />
          <InputField
            formId={id}
            name="bucket"
            label="Bucket"
            required
            value={s3()?.bucket ?? ''}
            maxLength={63}
            error={fields().bucket}
          />
          <InputField
            formId={id}
            name="prefix"
            label="Prefix"
            value={s3()?.prefix ?? ''}
            maxLength={256}
            placeholder="keel/"
            hint="Empty, or names each followed by /."
            error={fields().prefix}
          />
          <label class="choice">
            <input type="checkbox" name="forcePathStyle" checked={s3()?.forcePathStyle ?? true} />
            <span>
              <span class="choice-title">Path-style addresses</span>
              <span class="choice-hint">endpoint/bucket/key, as most self-hosted stores want.</span>
            </span>
          </label>
          <InputField
            formId={id}
            name="accessKeyId"
            label="Access key ID"
            required
            value={s3()?.accessKeyId ?? ''}
            maxLength={256}
            error={fields().accessKeyId}
          />
          <InputField
            formId={id}
            name="secretAccessKey"
            label="Secret access key"
            type="password"
            autocomplete="new-password"
            required={s3() === undefined || props.current.secretFingerprint === null}
            maxLength={512}
            placeholder={props.current.secretFingerprint ? 'Leave empty to keep the current one' : undefined}
            hint={
              props.current.secretFingerprint && s3()
                ? `One is set (fingerprint ${props.current.secretFingerprint}). It is never shown; a new one replaces it.`
                : 'Sealed when saved, and never shown again.'
            }
            error={fields().secretAccessKey}
          />
        </Show>
        <InputField
          formId={id}
          name="intervalMinutes"
          label="Snapshot every (minutes)"
          type="number"
          min={0}
          max={10080}
          inputMode="numeric"
          required
          value={String(props.current.intervalMinutes)}
          hint="Running workspaces are saved this often. 0: never on a schedule."
          error={fields().intervalMinutes}
        />
        <InputField
          formId={id}
          name="retention"
          label="Snapshots kept per workspace"
          type="number"
          min={1}
          max={1000}
          inputMode="numeric"
          required
          value={String(props.current.retention)}
          hint="Older ones are deleted; pinned ones are kept."
          error={fields().retention}
        />
        <label class="choice">
          <input type="checkbox" name="onStop" checked={props.current.onStop} />
          <span>
            <span class="choice-title">Snapshot on stop</span>
            <span class="choice-hint">Save a workspace’s files each time it stops, the idle stop too.</span>
          </span>
        </label>
        <Show when={props.current.updatedAt}>
          {(at) => <p class="field-hint">Last changed {relativeTime(at())}.</p>}
        </Show>
        <div class="dialog-footer dialog-footer-inline">
          <Button type="submit" pending={pending()} pendingLabel="Saving…">
            Save settings
          </Button>
        </div>
      </form>
    </section>
  );
}
