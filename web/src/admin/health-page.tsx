import type { HealthQueue, HealthReport } from '@keel/contract/health';
import { For, Match, onCleanup, onMount, Show, Switch } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import { TimeChart } from '../charts/time-chart.tsx';
import { Button } from '../components/button.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { errorMessage } from '../forms/error-message.ts';
import { countsList, formatAge, formatPercent, requestChart } from './health-figures.ts';
import { createPolledList } from './polled-list.ts';
import './health-page.css';

/** How often the page asks again while it is visible. */
const REFRESH_MS = 10_000;

/** Admin › Health: the organization's runners, servers, queues and workspaces, and every edge's requests, now. */
export default function HealthPage() {
  usePageTitle('Health');
  const apis = useApis();
  // The report is one item of a polled list: fetched again every 10 s while the page is visible.
  const store = createPolledList(async () => [await apis.health.report()], {
    pollMs: REFRESH_MS,
    isVisible: () => document.visibilityState === 'visible',
  });
  const report = () => store.items()?.[0];
  const onVisible = () => {
    if (document.visibilityState === 'visible') store.resume();
  };
  onMount(() => {
    void store.load();
    document.addEventListener('visibilitychange', onVisible);
  });
  onCleanup(() => {
    document.removeEventListener('visibilitychange', onVisible);
    store.dispose();
  });

  return (
    <>
      <div class="page-heading">
        <h1 class="page-title">Health</h1>
      </div>
      <p class="page-intro muted">
        Runners, servers, queues and workspaces of the organization, and the requests every edge answered.
        Refreshed every 10 seconds while this page is open.
      </p>
      <Show when={store.loadError()}>
        {(error) => (
          <div class="alert alert-error" role="alert">
            <p>Could not load the health report. {errorMessage(error())}</p>
            <p>
              <Button variant="secondary" size="small" onClick={() => void store.load()}>
                Try again
              </Button>
            </p>
          </div>
        )}
      </Show>
      <Switch>
        <Match when={report() === undefined && !store.loadError()}>
          <div class="list-placeholder">
            <LoadingIndicator label="Loading the health report…" />
          </div>
        </Match>
        <Match when={report()}>{(r) => <HealthView report={r()} />}</Match>
      </Switch>
    </>
  );
}

function HealthView(props: { report: HealthReport }) {
  const r = () => props.report;
  const chart = () => requestChart(r().requests.minutes);
  return (
    <>
      <div class="health-tiles">
        <section class="card health-tile" aria-labelledby="health-runners">
          <h2 id="health-runners" class="card-title">
            Runners
          </h2>
          <Show
            when={r().runners.total > 0}
            fallback={
              <EmptyState title="No runners yet" action={<a href="/admin/runners">Add a runner</a>}>
                <p>Workspaces need a runner to run on.</p>
              </EmptyState>
            }
          >
            <p class="health-figure" data-testid="health-runners-online">
              {r().runners.online} of {r().runners.total} online
            </p>
            <p class="muted">
              Oldest heartbeat:{' '}
              {r().runners.maxHeartbeatAgeSeconds === null
                ? '—'
                : formatAge(r().runners.maxHeartbeatAgeSeconds!)}
            </p>
          </Show>
        </section>

        <section class="card health-tile" aria-labelledby="health-servers">
          <h2 id="health-servers" class="card-title">
            Servers
          </h2>
          <Show when={r().servers.total > 0} fallback={<p class="muted">No servers registered.</p>}>
            <p class="health-figure">{r().servers.total}</p>
            <CountsList counts={r().servers.byState} label="Servers by state" />
          </Show>
        </section>

        <section class="card health-tile" aria-labelledby="health-workspaces">
          <h2 id="health-workspaces" class="card-title">
            Workspaces
          </h2>
          <Show
            when={countsList(r().workspaces.byStatus).length > 0}
            fallback={<p class="muted">No workspaces yet.</p>}
          >
            <CountsList counts={r().workspaces.byStatus} label="Workspaces by status" />
          </Show>
        </section>

        <section class="card health-tile" aria-labelledby="health-requests">
          <h2 id="health-requests" class="card-title">
            Requests
          </h2>
          <dl class="facts facts-compact">
            <div>
              <dt>Last {r().requests.minutes.length} minutes</dt>
              <dd>{r().requests.requests}</dd>
            </div>
            <div>
              <dt>Error rate (5xx)</dt>
              <dd>{r().requests.errorRate === null ? '—' : formatPercent(r().requests.errorRate!)}</dd>
            </div>
            <div>
              <dt>p99 latency</dt>
              <dd>{r().requests.p99Ms === null ? '—' : `${r().requests.p99Ms} ms`}</dd>
            </div>
            <div>
              <dt>Audit chain</dt>
              <dd>
                <Show when={r().auditChain} fallback="not checked yet">
                  {(a) => (a().ok ? 'sound' : 'BROKEN')}
                </Show>
              </dd>
            </div>
          </dl>
        </section>
      </div>

      <section class="card" aria-labelledby="health-queues">
        <h2 id="health-queues" class="card-title">
          Queues
        </h2>
        <QueueTable queues={r().queues} />
      </section>

      <section class="card" aria-labelledby="health-chart-heading">
        <h2 id="health-chart-heading" class="card-title">
          Requests per minute
        </h2>
        <Show when={r().requests.requests === 0}>
          <p class="muted">
            No requests counted in this window yet: edges send their counts every few seconds.
          </p>
        </Show>
        <TimeChart
          title="Requests per minute and p99 latency, every edge together"
          summary={chart().summary}
          x={chart().x}
          series={chart().series}
        />
      </section>
    </>
  );
}

function CountsList(props: { counts: Record<string, number>; label: string }) {
  return (
    <ul class="health-counts" aria-label={props.label}>
      <For each={countsList(props.counts)}>
        {(c) => (
          <li>
            <span>{c.name}</span> <strong>{c.count}</strong>
          </li>
        )}
      </For>
    </ul>
  );
}

function QueueTable(props: { queues: HealthQueue[] }) {
  return (
    <div class="table-scroll">
      <table class="data-table">
        <thead>
          <tr>
            <th scope="col">Queue</th>
            <th scope="col">Waiting</th>
            <th scope="col">Active</th>
            <th scope="col">Delayed</th>
            <th scope="col">Failed</th>
            <th scope="col">Oldest waiting</th>
          </tr>
        </thead>
        <tbody>
          <For each={props.queues}>
            {(q) => (
              <tr>
                <th scope="row">{q.name}</th>
                <td>{q.waiting}</td>
                <td>{q.active}</td>
                <td>{q.delayed}</td>
                <td>{q.failed}</td>
                <td>{q.oldestWaitingSeconds === null ? '—' : formatAge(q.oldestWaitingSeconds)}</td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </div>
  );
}
