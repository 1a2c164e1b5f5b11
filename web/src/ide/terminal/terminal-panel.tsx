import { createEffect, createSignal, Match, on, onCleanup, onMount, Show, Switch } from 'solid-js';
import { Button } from '../../components/button.tsx';
import { LoadingIndicator } from '../../components/loading-indicator.tsx';
import { errorMessage } from '../../forms/error-message.ts';
import type { Theme } from '../../theme/theme-store.ts';
import { loadXterm } from './load-xterm.ts';
import { createTerminalConnection, tabSessionMemory } from './terminal-connection.ts';

export interface TerminalPanelProps {
  workspaceId: string;
  theme: Theme;
  /** Whether the panel is on screen; xterm can only measure itself while it is. */
  visible: boolean;
  /** Why no terminal can open now (the workspace is stopped), or undefined when one can. */
  blockedReason: string | undefined;
  /**
   * Any authenticated request, made before each connection: a socket cannot refresh an expired access
   * cookie itself, and a plain request through the API client does.
   */
  beforeConnect?: () => Promise<unknown>;
}

const THEMES = {
  dark: { background: '#0e1116', foreground: '#e4e8ee', cursor: '#9bb8ff', selectionBackground: '#2a3c66' },
  light: { background: '#ffffff', foreground: '#1a1e24', cursor: '#2f5bd3', selectionBackground: '#c9d7f7' },
} as const;

type Xterm = InstanceType<Awaited<ReturnType<typeof loadXterm>>['Terminal']>;

/** An interactive shell in the workspace: xterm.js on the terminal WebSocket of @keel/contract/terminal. */
export function TerminalPanel(props: TerminalPanelProps) {
  const [loadError, setLoadError] = createSignal<unknown>();
  const [loaded, setLoaded] = createSignal(false);
  let host: HTMLDivElement | undefined;
  let terminal: Xterm | undefined;
  let fit: (() => void) | undefined;
  let mounted = true;

  const connection = createTerminalConnection({
    workspaceId: props.workspaceId,
    origin: window.location,
    createSocket: (url) => new WebSocket(url),
    onOutput: (data) => terminal?.write(data),
    memory: tabSessionMemory(() => window.sessionStorage, props.workspaceId),
  });

  async function connect(): Promise<void> {
    if (terminal === undefined) return;
    terminal.reset();
    // Its failure is not the terminal's: the socket will say what is wrong, if anything.
    await props.beforeConnect?.().catch(() => {});
    if (mounted) connection.connect(terminal.cols, terminal.rows);
  }

  async function load(): Promise<void> {
    setLoadError(undefined);
    try {
      const { Terminal, FitAddon } = await loadXterm();
      if (!mounted || host === undefined) return;
      const created = new Terminal({
        fontSize: 13,
        fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
        cursorBlink: true,
        scrollback: 5000,
        theme: THEMES[props.theme],
      });
      const fitAddon = new FitAddon();
      created.loadAddon(fitAddon);
      created.open(host);
      terminal = created;
      fit = () => {
        // Fitting a hidden (zero-size) element would shrink the terminal to nothing.
        if (host && host.clientWidth > 0 && host.clientHeight > 0) fitAddon.fit();
      };
      fit();
      created.onData((data) => connection.input(data));
      created.onResize(({ cols, rows }) => connection.resize(cols, rows));
      setLoaded(true);
      if (!props.blockedReason) void connect();
    } catch (error) {
      setLoadError(error);
    }
  }

  onMount(() => {
    void load();
    const observer = new ResizeObserver(() => fit?.());
    if (host) observer.observe(host);
    onCleanup(() => observer.disconnect());
  });
  onCleanup(() => {
    mounted = false;
    connection.close();
    terminal?.dispose();
  });

  createEffect(() => {
    if (terminal) terminal.options.theme = THEMES[props.theme];
  });
  createEffect(() => {
    if (props.visible) queueMicrotask(() => fit?.());
  });
  // A workspace that starts while the panel is open gets its terminal without a click.
  createEffect(
    on(
      () => props.blockedReason,
      (reason, before) => {
        if (before !== undefined && reason === undefined && loaded()) void connect();
      },
      { defer: true },
    ),
  );

  const status = connection.status;
  const failure = () => {
    const current = status();
    return current.state === 'failed' ? current.message : undefined;
  };
  const exit = () => {
    const current = status();
    return current.state === 'exited' ? current : undefined;
  };
  return (
    <div class="terminal-panel">
      <div ref={host} class="terminal-host" />
      <Switch>
        <Match when={loadError()}>
          {(error) => (
            <div class="terminal-overlay" role="alert">
              <p>The terminal could not be loaded. {errorMessage(error())}</p>
              <Button variant="secondary" size="small" onClick={() => void load()}>
                Try again
              </Button>
            </div>
          )}
        </Match>
        <Match when={props.blockedReason}>
          {(reason) => (
            <div class="terminal-overlay">
              <p>{reason()}</p>
            </div>
          )}
        </Match>
        <Match when={!loaded() || status().state === 'connecting'}>
          <div class="terminal-overlay terminal-overlay-quiet">
            <LoadingIndicator label="Connecting to the workspace…" />
          </div>
        </Match>
        <Match when={status().state === 'reconnecting'}>
          <div class="terminal-banner" role="status">
            <span class="spinner spinner-small" aria-hidden="true" /> Connection lost: reconnecting…
          </div>
        </Match>
        <Match when={failure()}>
          {(message) => (
            <div class="terminal-overlay" role="alert">
              <p>{message()}</p>
              <Button variant="secondary" size="small" onClick={() => void connect()}>
                Try again
              </Button>
            </div>
          )}
        </Match>
        <Match when={exit()}>
          {(exited) => (
            <div class="terminal-banner" role="status">
              The shell exited
              <Show when={exited().exitCode !== null}> with status {exited().exitCode}</Show>.{' '}
              <Button variant="secondary" size="small" onClick={() => void connect()}>
                New terminal
              </Button>
            </div>
          )}
        </Match>
      </Switch>
    </div>
  );
}
