import type { PreviewPortView } from '@keel/contract/preview';
import { createSignal, For, onMount, Show } from 'solid-js';
import { errorMessage } from '../../forms/error-message.ts';
import { PreviewFrame } from '../preview/preview-frame.tsx';
import type { PortsApi } from './ports-api.ts';

/**
 * The workspace's listening TCP ports (as VS Code's Ports view): each opens in a preview tab here or
 * in a browser tab, and is private to its owner or shared with the organization.
 */
export function PortsPanel(props: { api: PortsApi; workspaceId: string; owner: boolean }) {
  const [ports, setPorts] = createSignal<PreviewPortView[]>([]);
  const [error, setError] = createSignal<string>();
  const [loading, setLoading] = createSignal(false);
  const [preview, setPreview] = createSignal<{ port: number; src: string; wildcard: boolean }>();
  const [link, setLink] = createSignal<string>();

  async function load(): Promise<void> {
    setLoading(true);
    setError(undefined);
    try {
      setPorts((await props.api.list(props.workspaceId)).ports);
    } catch (failure) {
      setError(`Could not list the ports: ${errorMessage(failure)}`);
    } finally {
      setLoading(false);
    }
  }
  onMount(() => void load());

  const urlOf = (p: PreviewPortView) => p.hostUrl ?? p.pathUrl;

  async function share(p: PreviewPortView, value: 'owner' | 'organization'): Promise<void> {
    try {
      await props.api.share(props.workspaceId, p.port, value);
      setPorts(ports().map((x) => (x.port === p.port ? { ...x, share: value } : x)));
    } catch (failure) {
      setError(`Could not change the sharing: ${errorMessage(failure)}`);
    }
  }

  async function makeLink(p: PreviewPortView): Promise<void> {
    try {
      setLink((await props.api.link(props.workspaceId, p.port, 24 * 3600)).url);
    } catch (failure) {
      setError(`Could not make a link: ${errorMessage(failure)}`);
    }
  }

  return (
    <div class="side-panel ports-panel">
      <div class="page-heading">
        <button type="button" class="link-button" onClick={() => void load()} disabled={loading()}>
          Refresh ports
        </button>
      </div>
      <Show when={error()}>
        <p role="alert" class="panel-note">
          {error()}
        </p>
      </Show>
      <Show when={link()}>
        <p class="panel-note">
          Link for 24 hours: <input readonly aria-label="Preview link" value={link()} />
        </p>
      </Show>
      <Show
        when={ports().length > 0}
        fallback={
          <p class="panel-note">{loading() ? 'Looking for ports…' : 'Nothing listens on a TCP port yet.'}</p>
        }
      >
        <table class="ports-table">
          <thead>
            <tr>
              <th scope="col">Port</th>
              <th scope="col">Listens on</th>
              <th scope="col">Shared with</th>
              <th scope="col">Open</th>
            </tr>
          </thead>
          <tbody>
            <For each={ports()}>
              {(p) => (
                <tr>
                  <td>{p.port}</td>
                  <td>
                    {p.address === 'loopback' ? 'localhost' : p.address === 'any' ? 'all addresses' : 'other'}
                  </td>
                  <td>
                    <select
                      aria-label={`Who may open port ${p.port}`}
                      value={p.share}
                      disabled={!props.owner}
                      onChange={(e) => void share(p, e.currentTarget.value as 'owner' | 'organization')}
                    >
                      <option value="owner">Only me</option>
                      <option value="organization">My organization</option>
                    </select>
                  </td>
                  <td>
                    <button
                      type="button"
                      class="link-button"
                      onClick={() =>
                        setPreview({ port: p.port, src: urlOf(p), wildcard: p.hostUrl !== null })
                      }
                    >
                      Open in preview tab
                    </button>{' '}
                    <a href={urlOf(p)} target="_blank" rel="noopener noreferrer">
                      Open in browser
                    </a>{' '}
                    <Show when={props.owner}>
                      <button type="button" class="link-button" onClick={() => void makeLink(p)}>
                        Copy a link
                      </button>
                    </Show>
                  </td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </Show>
      <Show when={preview()}>
        {(open) => (
          <PreviewFrame
            port={open().port}
            src={open().src}
            wildcard={open().wildcard}
            onClose={() => setPreview(undefined)}
          />
        )}
      </Show>
    </div>
  );
}
