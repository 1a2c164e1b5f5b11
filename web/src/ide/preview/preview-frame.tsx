import { Show } from 'solid-js';

/**
 * A port's preview inside the IDE: an iframe on the preview URL. On the wildcard host it is entered
 * through Keel's open route (a one-time signed exchange); in the path mode the page is sandboxed by
 * the server's own policy, and the frame adds the same sandbox.
 */
export function PreviewFrame(props: { port: number; src: string; wildcard: boolean; onClose: () => void }) {
  return (
    <div class="preview-frame">
      <div class="preview-frame-bar">
        <span>Preview of port {props.port}</span>
        <a href={props.src} target="_blank" rel="noopener noreferrer">
          Open in browser
        </a>
        <button type="button" class="link-button" onClick={() => props.onClose()}>
          Close preview
        </button>
      </div>
      <Show
        when={props.wildcard}
        fallback={
          <iframe
            title={`Preview of port ${props.port}`}
            src={props.src}
            sandbox="allow-scripts allow-forms allow-popups allow-modals allow-downloads"
          />
        }
      >
        <iframe title={`Preview of port ${props.port}`} src={props.src} />
      </Show>
    </div>
  );
}
