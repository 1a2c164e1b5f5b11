import type { AuditEvent, AuditVerifyResponse } from '@keel/contract/audit';
import { createSignal, For, Match, onMount, Show, Switch } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import { Button } from '../components/button.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { errorMessage } from '../forms/error-message.ts';
import type { AuditExportFormat } from './audit-api.ts';
import {
  type AuditFilterForm,
  type AuditQuery,
  buildAuditQuery,
  describeVerdict,
  EMPTY_AUDIT_FILTERS,
  isFiltered,
} from './audit-filters.ts';

const PAGE_SIZE = 50;
const OUTCOMES = [
  { value: '', label: 'Any' },
  { value: 'success', label: 'Success' },
  { value: 'failure', label: 'Failure' },
  { value: 'denied', label: 'Denied' },
];

/**
 * Admin › Audit: the organization's trail, newest first, filtered and paged by the API's cursor;
 * the chain check; downloads of what the filters select. Entries hold ids and hashes, never text.
 */
export default function AuditPage() {
  usePageTitle('Audit');
  const apis = useApis();
  const [form, setForm] = createSignal<AuditFilterForm>({ ...EMPTY_AUDIT_FILTERS });
  const [fieldError, setFieldError] = createSignal<{ field: keyof AuditFilterForm; message: string }>();
  const [query, setQuery] = createSignal<AuditQuery>({});
  const [events, setEvents] = createSignal<AuditEvent[]>();
  const [nextCursor, setNextCursor] = createSignal<string | null>(null);
  const [loading, setLoading] = createSignal(false);
  const [loadError, setLoadError] = createSignal<unknown>();
  const [verdict, setVerdict] = createSignal<AuditVerifyResponse>();
  const [verifying, setVerifying] = createSignal(false);
  const [verifyError, setVerifyError] = createSignal<unknown>();
  const [exporting, setExporting] = createSignal<AuditExportFormat>();
  const [exportNote, setExportNote] = createSignal<string>();
  const [exportError, setExportError] = createSignal<unknown>();
  // Each load gets a number; an answer to an older one (filters changed meanwhile) is dropped.
  let generation = 0;

  async function load(more: boolean): Promise<void> {
    const mine = ++generation;
    setLoading(true);
    setLoadError(undefined);
    try {
      const page = await apis.audit.list(query(), {
        limit: PAGE_SIZE,
        cursor: more ? (nextCursor() ?? undefined) : undefined,
      });
      if (mine !== generation) return;
      setEvents((current) => (more ? [...(current ?? []), ...page.events] : page.events));
      setNextCursor(page.nextCursor);
    } catch (error) {
      if (mine === generation) setLoadError(error);
    } finally {
      if (mine === generation) setLoading(false);
    }
  }

  onMount(() => void load(false));

  function apply(event: SubmitEvent): void {
    event.preventDefault();
    const built = buildAuditQuery(form());
    if (!built.ok) {
      setFieldError({ field: built.field, message: built.message });
      return;
    }
    setFieldError(undefined);
    setQuery(built.query);
    setEvents(undefined);
    void load(false);
  }

  function clear(): void {
    setForm({ ...EMPTY_AUDIT_FILTERS });
    setFieldError(undefined);
    setQuery({});
    setEvents(undefined);
    void load(false);
  }

  async function verify(): Promise<void> {
    setVerifying(true);
    setVerifyError(undefined);
    try {
      setVerdict(await apis.audit.verify());
    } catch (error) {
      setVerdict(undefined);
      setVerifyError(error);
    } finally {
      setVerifying(false);
    }
  }

  async function download(format: AuditExportFormat): Promise<void> {
    setExporting(format);
    setExportError(undefined);
    setExportNote(undefined);
    try {
      const file = await apis.audit.export(query(), format);
      const url = URL.createObjectURL(file.blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = file.filename;
      document.body.append(link);
      link.click();
      link.remove();
      // Revoked on the next turn: the download has taken the blob by then.
      setTimeout(() => URL.revokeObjectURL(url), 0);
      setExportNote(
        file.nextCursor
          ? `Downloaded ${file.filename}. It stops at the export limit; narrow the filters or the time range for the rest.`
          : `Downloaded ${file.filename}.`,
      );
    } catch (error) {
      setExportError(error);
    } finally {
      setExporting(undefined);
    }
  }

  const field = (name: keyof AuditFilterForm) => ({
    id: `audit-filter-${name}`,
    name,
    value: form()[name],
    'aria-invalid': fieldError()?.field === name ? ('true' as const) : undefined,
    'aria-describedby': fieldError()?.field === name ? 'audit-filter-error' : undefined,
    onInput: (e: InputEvent & { currentTarget: HTMLInputElement | HTMLSelectElement }) =>
      setForm((current) => ({ ...current, [name]: e.currentTarget.value })),
  });

  return (
    <>
      <div class="page-heading">
        <h1 class="page-title">Audit</h1>
      </div>
      <p class="page-intro muted">
        Everything people and runners did in the organization, newest first. Entries hold ids, hashes, sizes
        and outcomes, never file contents or prompts. Each entry is chained to the one before it, so a changed
        or removed entry is found by “Verify chain”.
      </p>

      <section class="card" aria-labelledby="audit-chain-heading">
        <h2 id="audit-chain-heading" class="card-title">
          Chain
        </h2>
        <div class="workspace-actions">
          <Button
            variant="secondary"
            onClick={() => void verify()}
            pending={verifying()}
            pendingLabel="Verifying…"
          >
            Verify chain
          </Button>
          <Button
            variant="secondary"
            onClick={() => void download('csv')}
            pending={exporting() === 'csv'}
            pendingLabel="Exporting…"
            disabled={exporting() !== undefined}
          >
            Export CSV
          </Button>
          <Button
            variant="secondary"
            onClick={() => void download('jsonl')}
            pending={exporting() === 'jsonl'}
            pendingLabel="Exporting…"
            disabled={exporting() !== undefined}
          >
            Export JSON Lines
          </Button>
        </div>
        <div role="status" aria-live="polite">
          <Show when={verdict()}>
            {(v) => (
              <p class={v().ok ? 'alert alert-info' : 'alert alert-error'} data-testid="audit-verdict">
                {describeVerdict(v())}
              </p>
            )}
          </Show>
          <Show when={exportNote()}>{(note) => <p class="muted">{note()}</p>}</Show>
        </div>
        <Show when={verifyError()}>
          {(error) => (
            <div class="alert alert-error" role="alert">
              <p>Could not check the chain. {errorMessage(error())}</p>
            </div>
          )}
        </Show>
        <Show when={exportError()}>
          {(error) => (
            <div class="alert alert-error" role="alert">
              <p>Could not export. {errorMessage(error())}</p>
            </div>
          )}
        </Show>
        <p class="field-hint">
          Exports take the filters below; CSV cells that a spreadsheet would run are quoted.
        </p>
      </section>

      <form class="card form" aria-label="Filter the audit trail" onSubmit={apply} novalidate>
        <div class="form-grid">
          <div class="field">
            <label class="field-label" for="audit-filter-action">
              Action
            </label>
            <input
              class="field-input"
              type="text"
              maxLength={101}
              placeholder="invitation. or auth.login"
              {...field('action')}
            />
          </div>
          <div class="field">
            <label class="field-label" for="audit-filter-actorId">
              Actor id
            </label>
            <input class="field-input" type="text" maxLength={64} placeholder="usr_…" {...field('actorId')} />
          </div>
          <div class="field">
            <label class="field-label" for="audit-filter-outcome">
              Outcome
            </label>
            <select class="field-input" {...field('outcome')}>
              <For each={OUTCOMES}>{(o) => <option value={o.value}>{o.label}</option>}</For>
            </select>
          </div>
          <div class="field">
            <label class="field-label" for="audit-filter-workspaceId">
              Workspace id
            </label>
            <input
              class="field-input"
              type="text"
              maxLength={64}
              placeholder="ws_…"
              {...field('workspaceId')}
            />
          </div>
          <div class="field">
            <label class="field-label" for="audit-filter-from">
              From
            </label>
            <input class="field-input" type="datetime-local" {...field('from')} />
          </div>
          <div class="field">
            <label class="field-label" for="audit-filter-to">
              To
            </label>
            <input class="field-input" type="datetime-local" {...field('to')} />
          </div>
        </div>
        <p class="field-hint">An action ending in “.” or “*” matches every action that starts with it.</p>
        <Show when={fieldError()}>
          {(error) => (
            <p id="audit-filter-error" class="field-error" role="alert">
              {error().message}
            </p>
          )}
        </Show>
        <div class="workspace-actions">
          <Button type="submit">Apply filters</Button>
          <Button variant="secondary" onClick={clear}>
            Clear
          </Button>
        </div>
      </form>

      <Show when={loadError()}>
        {(error) => (
          <div class="alert alert-error" role="alert">
            <p>Could not load the audit trail. {errorMessage(error())}</p>
            <p>
              <Button variant="secondary" size="small" onClick={() => void load(events() !== undefined)}>
                Try again
              </Button>
            </p>
          </div>
        )}
      </Show>
      <Switch>
        <Match when={events() === undefined && !loadError()}>
          <div class="list-placeholder">
            <LoadingIndicator label="Loading the audit trail…" />
          </div>
        </Match>
        <Match when={events()?.length === 0}>
          <EmptyState title={isFiltered(query()) ? 'No entries match these filters' : 'No entries yet'}>
            <p>
              {isFiltered(query())
                ? 'Widen the time range or clear a filter.'
                : 'Sign-ins, invitations and workspace actions appear here as they happen.'}
            </p>
          </EmptyState>
        </Match>
        <Match when={events()}>
          {(list) => (
            <>
              <div class="table-scroll card">
                <table class="data-table" aria-label="Audit entries">
                  <thead>
                    <tr>
                      <th scope="col">#</th>
                      <th scope="col">Time</th>
                      <th scope="col">Actor</th>
                      <th scope="col">Action</th>
                      <th scope="col">Outcome</th>
                      <th scope="col">Target</th>
                      <th scope="col">Workspace</th>
                      <th scope="col">Request</th>
                      <th scope="col">Details</th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={list()}>{(e) => <AuditRow event={e} />}</For>
                  </tbody>
                </table>
              </div>
              <p class="muted">
                {list().length} {list().length === 1 ? 'entry' : 'entries'} shown
                {nextCursor() ? '; older ones follow.' : '.'}
              </p>
              <Show when={nextCursor()}>
                <Button
                  variant="secondary"
                  onClick={() => void load(true)}
                  pending={loading()}
                  pendingLabel="Loading…"
                >
                  Load older entries
                </Button>
              </Show>
            </>
          )}
        </Match>
      </Switch>
    </>
  );
}

function AuditRow(props: { event: AuditEvent }) {
  const e = () => props.event;
  const at = () => new Date(e().at);
  // The request id is kept in the metadata when the recording route had one.
  const requestId = () => {
    const value = e().metadata.requestId;
    return typeof value === 'string' ? value : undefined;
  };
  const details = () =>
    Object.entries(e().metadata)
      .filter(([k]) => k !== 'requestId')
      .map(([k, v]) => `${k}=${v === null ? '—' : String(v)}`)
      .join(' · ');
  return (
    <tr>
      <td>{e().seq}</td>
      <td>
        <time datetime={e().at} title={e().at}>
          {at().toLocaleString()}
        </time>
      </td>
      <td>
        <code>{e().actorId ?? '—'}</code>
      </td>
      <td>
        <code>{e().action}</code>
      </td>
      <td>
        <span class={`status audit-outcome-${e().outcome}`}>{e().outcome}</span>
      </td>
      <td>
        <code>{e().targetId ?? '—'}</code>
      </td>
      <td>
        <code>{e().workspaceId ?? '—'}</code>
      </td>
      <td>
        <code>{requestId() ?? '—'}</code>
      </td>
      <td class="field-mono">{details() || '—'}</td>
    </tr>
  );
}
