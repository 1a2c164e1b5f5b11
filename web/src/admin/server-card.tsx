import type { RunnerView } from '@keel/contract/runners';
import type { ConnectionTestResult, ServerView } from '@keel/contract/servers';
import { createSignal, createUniqueId, Show } from 'solid-js';
import { Button } from '../components/button.tsx';
import { relativeTime } from '../format/relative-time.ts';
import { DrainProgressView, drainButtonLabel } from './drain.tsx';
import type { ServerAction } from './server-list-store.ts';
import {
  describeAssignment,
  describeResources,
  describeStorage,
  formatLabels,
  formatMb,
  KIND_LABELS,
  type ServerStatus,
  STATUS_LABELS,
  testOutcome,
} from './server-words.ts';
import { Fact, TestResultView } from './test-result.tsx';

export function ServerStatusBadge(props: { status: ServerStatus }) {
  return (
    <span class={`status server-status-${props.status}`}>
      <span class="status-dot" aria-hidden="true" />
      {STATUS_LABELS[props.status]}
    </span>
  );
}

function endpointText(server: ServerView): string {
  const { host, port, user, url, namespacePrefix } = server.endpoint;
  if (server.kind === 'kubernetes')
    return [url, namespacePrefix ? `namespaces ${namespacePrefix}-…` : ''].filter(Boolean).join(' · ');
  return `${user ? `${user}@` : ''}${host ?? ''}${port ? `:${port}` : ''}`;
}

/** The host key a test offered and nobody confirmed yet, if any. */
export function offeredHostKey(server: ServerView, fresh: ConnectionTestResult | undefined) {
  const result = fresh ?? server.lastTest;
  return result?.code === 'host_key_unconfirmed' ? result.hostKey : undefined;
}

export interface ServerCardProps {
  server: ServerView;
  runners: RunnerView[];
  pending: ServerAction | undefined;
  /** A test run from this page, shown open; otherwise the last test is behind a disclosure. */
  fresh: ConnectionTestResult | undefined;
  onTest: () => void;
  onConfirmHostKey: () => void;
  onEdit: () => void;
  onToggleDisabled: () => void;
  onDelete: () => void;
  onDrain: () => void;
}

export function ServerCard(props: ServerCardProps) {
  const headingId = createUniqueId();
  const detailsId = createUniqueId();
  const [open, setOpen] = createSignal(false);
  const s = () => props.server;
  const disabled = () => s().status === 'disabled';
  const shown = () => props.fresh ?? (open() ? (s().lastTest ?? undefined) : undefined);
  return (
    <li class="server-card" aria-labelledby={headingId}>
      <div class="server-card-head">
        <div>
          <h2 id={headingId} class="server-name">
            {s().name}
          </h2>
          <p class="workspace-source">
            {KIND_LABELS[s().kind]} · {endpointText(s())}
          </p>
        </div>
        <div class="workspace-meta">
          <ServerStatusBadge status={s().status} />
          <Show when={s().drain?.draining}>
            <span class="status runner-status-draining">
              <span class="status-dot" aria-hidden="true" />
              Draining
            </span>
          </Show>
        </div>
      </div>
      <Show when={s().drain}>{(drain) => <DrainProgressView drain={drain()} />}</Show>
      <dl class="facts facts-compact">
        <Fact term="Region">{s().region ?? '—'}</Fact>
        <Fact term="Labels">{formatLabels(s().labels) || '—'}</Fact>
        <Fact term="Assigned to">{describeAssignment(s().assignment, props.runners)}</Fact>
        <Fact term="Storage">{describeStorage(s().storage)}</Fact>
        <Fact term="Capacity">
          {s().capacity.workspaces} workspaces
          {s().capacity.cpus === undefined ? '' : ` · ${s().capacity.cpus} CPUs`}
          {s().capacity.memoryMb === undefined ? '' : ` · ${formatMb(s().capacity.memoryMb!)}`} ·{' '}
          {s().workspaces} placed
        </Fact>
        <Fact term="Credential">
          <code class="fingerprint">{s().credential.fingerprint}</code>{' '}
          <span class="muted">(changed {relativeTime(s().credential.updatedAt)})</span>
        </Fact>
        <Show when={s().kind === 'ssh'}>
          <Fact term="Host key">
            <Show when={s().endpoint.hostKeyFingerprint} fallback="Not pinned yet">
              {(fingerprint) => <code class="fingerprint">{fingerprint()}</code>}
            </Show>
          </Fact>
        </Show>
        <Fact term="Last test">
          <Show when={s().lastTest} fallback="Never tested">
            {(test) => (
              <>
                {test().ok ? 'Passed' : 'Failed'} {relativeTime(test().at)}
                {test().ok ? '' : `. ${testOutcome(test())}`}
              </>
            )}
          </Show>
        </Fact>
        <Fact term="Resources">
          <Show when={s().resources} fallback="Not collected yet">
            {(resources) => (
              <>
                {describeResources(resources())} <span class="muted">({relativeTime(resources().at)})</span>
              </>
            )}
          </Show>
        </Fact>
      </dl>
      <div class="workspace-actions">
        <Button
          size="small"
          onClick={props.onTest}
          pending={props.pending === 'test'}
          pendingLabel="Testing…"
          disabled={props.pending !== undefined && props.pending !== 'test'}
          ariaLabel={`Test ${s().name}`}
        >
          Test
        </Button>
        <Show when={offeredHostKey(s(), props.fresh)}>
          <Button
            size="small"
            variant="secondary"
            onClick={props.onConfirmHostKey}
            ariaLabel={`Confirm the host key of ${s().name}`}
          >
            Confirm host key
          </Button>
        </Show>
        <Button size="small" variant="secondary" onClick={props.onEdit} ariaLabel={`Edit ${s().name}`}>
          Edit
        </Button>
        <Button
          size="small"
          variant="secondary"
          onClick={props.onToggleDisabled}
          pending={props.pending === 'disable' || props.pending === 'enable'}
          pendingLabel={disabled() ? 'Enabling…' : 'Disabling…'}
          ariaLabel={`${disabled() ? 'Enable' : 'Disable'} ${s().name}`}
        >
          {disabled() ? 'Enable' : 'Disable'}
        </Button>
        <Button
          size="small"
          variant="secondary"
          onClick={props.onDrain}
          pending={props.pending === 'drain'}
          pendingLabel="Asking…"
          ariaLabel={`${drainButtonLabel(s().drain?.draining ?? false)} ${s().name}`}
        >
          {drainButtonLabel(s().drain?.draining ?? false)}
        </Button>
        <Button size="small" variant="danger" onClick={props.onDelete} ariaLabel={`Delete ${s().name}`}>
          Delete
        </Button>
        <Show when={!props.fresh && s().lastTest}>
          <button
            type="button"
            class="disclosure"
            aria-expanded={open()}
            aria-controls={detailsId}
            onClick={() => setOpen(!open())}
          >
            Last test details
          </button>
        </Show>
      </div>
      <div id={detailsId}>
        <Show when={shown()}>
          {(result) => <TestResultView result={result()} title={`Test of ${s().name}`} />}
        </Show>
      </div>
    </li>
  );
}
