import type { ConnectionTestResult } from '@keel/contract/servers';
import { For, type JSX, Show } from 'solid-js';
import { relativeTime } from '../format/relative-time.ts';
import { formatMb, testOutcome } from './server-words.ts';

const yesNo = (value: boolean) => (value ? 'Yes' : 'No');

/** A connection test's structured result: each check as a fact, the failure said in words. */
export function TestResultView(props: { result: ConnectionTestResult; title?: string }) {
  const r = () => props.result;
  return (
    <section
      class={`test-result ${r().ok ? 'test-result-ok' : 'test-result-failed'}`}
      aria-label={props.title ?? 'Test result'}
    >
      <p class="test-result-outcome">
        <strong>{r().ok ? 'Test passed' : 'Test failed'}</strong>{' '}
        <span class="muted">
          {relativeTime(r().at)}, in {Math.round(r().durationMs)} ms
        </span>
      </p>
      <Show when={!r().ok}>
        <p>{testOutcome(r())}</p>
      </Show>
      <Show when={r().message && r().message !== 'ok'}>
        <p class="test-result-message">{r().message}</p>
      </Show>
      <dl class="facts facts-compact">
        <Fact term="Reachable">{yesNo(r().reachable)}</Fact>
        <Fact term="Authenticated">{yesNo(r().authenticated)}</Fact>
        <Show when={r().hostKey}>
          {(key) => (
            <Fact term="Host key">
              <code>{key().fingerprint}</code> ({key().algorithm}){' '}
              {key().changed
                ? '— changed since pinned: refused'
                : key().pinned
                  ? '— pinned'
                  : '— not pinned yet'}
            </Fact>
          )}
        </Show>
        <Show when={r().system}>
          {(system) => (
            <>
              <Fact term="System">
                {system().os}, kernel {system().kernel}
              </Fact>
              <Fact term="CPUs and memory">
                {system().cpus} CPUs · {formatMb(system().memoryMb)}
              </Fact>
              <Fact term="Disk">
                {system().disk
                  ? `${formatMb(system().disk!.freeMb)} free of ${formatMb(system().disk!.totalMb)} at ${system().disk!.path}`
                  : 'Not measured'}
              </Fact>
            </>
          )}
        </Show>
        <Show when={r().docker}>
          {(docker) => (
            <>
              <Fact term="Docker">
                {docker().version} (API {docker().apiVersion})
              </Fact>
              <Fact term="Workspace image">
                <code>{docker().image}</code>{' '}
                {docker().imagePresent ? 'present' : 'missing: pull it on the host'}
              </Fact>
            </>
          )}
        </Show>
        <Show when={r().kubernetes}>
          {(k8s) => (
            <>
              <Fact term="Kubernetes">{k8s().version}</Fact>
              <Fact term="Pods">{k8s().pods}</Fact>
              <Fact term="May create">
                pods {yesNo(k8s().can.createPods).toLowerCase()} · claims{' '}
                {yesNo(k8s().can.createPersistentVolumeClaims).toLowerCase()} · network policies{' '}
                {yesNo(k8s().can.createNetworkPolicies).toLowerCase()} · namespaces{' '}
                {yesNo(k8s().can.createNamespaces).toLowerCase()}
              </Fact>
            </>
          )}
        </Show>
      </dl>
      <Show when={r().kubernetes?.nodes.length}>
        <div class="table-scroll">
          <table class="data-table">
            <caption class="visually-hidden">Nodes</caption>
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Ready</th>
                <th scope="col">CPUs (allocatable)</th>
                <th scope="col">Memory (allocatable)</th>
                <th scope="col">GPUs (allocatable)</th>
              </tr>
            </thead>
            <tbody>
              <For each={r().kubernetes?.nodes}>
                {(node) => (
                  <tr>
                    <th scope="row">{node.name}</th>
                    <td>{yesNo(node.ready)}</td>
                    <td>
                      {node.capacity.cpus} ({node.allocatable.cpus})
                    </td>
                    <td>
                      {formatMb(node.capacity.memoryMb)} ({formatMb(node.allocatable.memoryMb)})
                    </td>
                    <td>
                      {node.capacity.gpus} ({node.allocatable.gpus})
                    </td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </Show>
    </section>
  );
}

export function Fact(props: { term: string; children: JSX.Element }) {
  return (
    <div>
      <dt>{props.term}</dt>
      <dd>{props.children}</dd>
    </div>
  );
}
