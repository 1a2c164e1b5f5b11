import type { PlacementDecision, RefusalCode } from '@keel/contract/placement';
import { createResource, For, Match, Show, Switch } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import { Button } from '../components/button.tsx';
import { Dialog } from '../components/dialog.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { relativeTime } from '../format/relative-time.ts';
import { errorMessage } from '../forms/error-message.ts';

const REFUSALS: Record<RefusalCode, string> = {
  offline: 'Offline',
  lost: 'Lost',
  draining: 'Draining',
  revoked: 'Revoked',
  driver: 'Another driver',
  labels: 'Labels do not match',
  cpu: 'Not enough CPU',
  memory: 'Not enough memory',
  disk: 'Not enough disk',
  gpu: 'Not enough GPUs',
  capacity: 'Full',
  excluded: 'Excluded',
};

const REASONS: Record<PlacementDecision['reason'], string> = {
  create: 'created',
  queued: 'waited in the queue',
  relocation: 'its host was lost',
  drain: 'its host was drained',
  manual: 'an admin moved it',
  restore: 'restored',
};

const DECIDERS: Record<PlacementDecision['decidedBy'], string> = {
  policy: 'the placement policy',
  server: 'the server chosen at creation',
  admin: 'an admin, by hand',
};

/** "Where it runs": the runner, by which policy and why, and every candidate refused with its reason. */
export function PlacementDialog(props: { open: boolean; workspaceId: string; onClose: () => void }) {
  return (
    <Dialog
      open={props.open}
      title="Where it runs"
      size="wide"
      onClose={props.onClose}
      footer={
        <Button variant="secondary" onClick={props.onClose}>
          Close
        </Button>
      }
    >
      <PlacementView workspaceId={props.workspaceId} />
    </Dialog>
  );
}

function PlacementView(props: { workspaceId: string }) {
  const api = useApis().fleet;
  const [answer, { refetch }] = createResource(() => api.workspacePlacement(props.workspaceId));
  return (
    <Switch>
      <Match when={answer.error}>
        <div class="alert alert-error" role="alert">
          <p>Could not load where it runs. {errorMessage(answer.error)}</p>
          <p>
            <Button variant="secondary" size="small" onClick={() => void refetch()}>
              Try again
            </Button>
          </p>
        </div>
      </Match>
      <Match when={answer()}>
        {(placement) => (
          <Show
            when={placement().current}
            fallback={
              <EmptyState title="Not placed yet">
                <p>No placement decision is recorded for this workspace.</p>
              </EmptyState>
            }
          >
            {(current) => <Decision decision={current()} />}
          </Show>
        )}
      </Match>
      <Match when={true}>
        <LoadingIndicator label="Loading where it runs…" />
      </Match>
    </Switch>
  );
}

function Decision(props: { decision: PlacementDecision }) {
  const d = () => props.decision;
  const chosen = () => d().candidates.find((c) => c.verdict === 'chosen');
  return (
    <>
      <dl class="facts facts-compact">
        <div>
          <dt>Runner</dt>
          <dd>{chosen()?.runnerName ?? d().runnerId ?? 'None: it waits for room'}</dd>
        </div>
        <div>
          <dt>Decided by</dt>
          <dd>
            {DECIDERS[d().decidedBy]}
            {d().strategy ? ` (${d().strategy})` : ''}, when {REASONS[d().reason]},{' '}
            <time datetime={d().decidedAt}>{relativeTime(d().decidedAt)}</time>
          </dd>
        </div>
        <div>
          <dt>Why</dt>
          <dd>{d().summary}</dd>
        </div>
      </dl>
      <Show when={d().candidates.length > 0}>
        <table class="data-table" aria-label="Candidates">
          <thead>
            <tr>
              <th scope="col">Runner</th>
              <th scope="col">Verdict</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            <For each={d().candidates}>
              {(candidate) => (
                <tr>
                  <td>{candidate.runnerName}</td>
                  <td>
                    {candidate.verdict === 'refused'
                      ? `Refused: ${candidate.refusal ? REFUSALS[candidate.refusal] : 'unknown'}`
                      : candidate.verdict === 'chosen'
                        ? 'Chosen'
                        : 'Eligible'}
                  </td>
                  <td>
                    {candidate.detail ?? ''}
                    {candidate.score === null ? '' : ` (room left ${Math.round(candidate.score * 100)}%)`}
                  </td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </Show>
    </>
  );
}
